import type { DataId } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import type { AdamStepAttrs } from '../../kernel-names.js';
import { CpuBackend } from '../cpu/cpu-backend.js';
import { adamStepWasm } from './adam.js';
import { binary, type WasmBinaryOp } from './binary.js';
import { columnSum } from './column-sum.js';
import { type DropoutJob, dropoutWasm } from './dropout.js';
import { type GemmProblem, gemm } from './gemm.js';
import { layerNormGradRows, layerNormParamGradRows, rowwise, type WasmRowOp } from './rows.js';
import { type TapsProblem, taps } from './taps.js';
import { hardwareThreads, threadsSupported, WasmThreadPool } from './thread-pool.js';
import { unary, type WasmUnaryOp } from './unary.js';
import type { Allocate } from './wasm-call.js';
import { WasmRuntime } from './wasm-runtime.js';

/**
 * Float32 tensors smaller than this stay in JS arrays: a heap block costs about a microsecond (a
 * view, its registration for reclaim), more than copying a few KB into scratch when a SIMD kernel
 * reads it, and an op on a scalar (a loss, a step count) would pay it every time.
 */
const HEAP_MIN_FLOATS = 1024;

/** Most threads `'auto'` picks: past 8, a 512² GEMM (16 tasks of 64×256) has too few tasks to share. */
const MAX_AUTO_THREADS = 8;

/**
 * The fast CPU backend: the cpu backend's kernels, with the hot ones (BatchMatMul; Add, Sub, Mul;
 * Exp, Sigmoid, Tanh; Relu and Gelu with their fused backward kernels; softmax and layerNorm rows;
 * channels-last im2col; batch norm; AdamStep) in WebAssembly SIMD (f32x4), GEMM and the larger
 * passes spread over a lazily created worker pool sharing one `WebAssembly.Memory`, and float32
 * tensors stored in that memory where it is shared, so kernels work on them in place (README.md). Results do not depend
 * on the thread count: each output element is summed by one thread in a fixed order.
 *
 * Threads work in Node and in cross-origin-isolated browser workers; a browser main thread cannot
 * block on `Atomics.wait`, so there it runs on one thread.
 *
 * ```ts
 * setBackend('wasm');
 * const y = matmul(randn([512, 512]), randn([512, 512])); // SIMD GEMM on every core
 * ```
 */
export class WasmBackend extends CpuBackend {
  override readonly name: string;
  /** Kernels that decline a call (int32 inputs, problems beyond wasm memory) leave it to the cpu ones, on this storage. */
  readonly kernelFallback = 'cpu';
  private requestedThreads: number | 'auto';
  private runtimeInstance: WasmRuntime | null = null;
  private pool: WasmThreadPool | null = null;
  private poolTried = false;
  /** Kernel outputs come from the heap (or the buffer pool): each driver writes every element. */
  readonly allocateOutput: Allocate = (length, capacity) => this.uninitializedFloat32(length, capacity);

  /** @param threads threads for GEMM, calling thread included; `'auto'`: the machine's cores (at most 8). */
  constructor(name = 'wasm', threads: number | 'auto' = 'auto') {
    super();
    this.name = name;
    this.requestedThreads = threads;
  }

  /** Threads GEMM will use here (1 where threads are unavailable). */
  get threads(): number {
    if (!threadsSupported()) return 1;
    const n =
      this.requestedThreads === 'auto'
        ? Math.min(hardwareThreads(), MAX_AUTO_THREADS)
        : this.requestedThreads;
    return Math.max(1, Math.floor(n));
  }

  /** Changes the thread count (the pool is rebuilt on next use). */
  setThreads(threads: number | 'auto'): void {
    this.requestedThreads = threads;
    this.pool?.destroy();
    this.pool = null;
    this.poolTried = false;
  }

  /**
   * Float32 outputs live in the wasm memory's heap where the memory is shared (see wasm-heap.ts),
   * so the SIMD kernels read and write them in place; `capacity` floats of room (≥ `length`) for a
   * kernel that writes padding past the end. Elsewhere, when the memory is full, or for outputs
   * under HEAP_MIN_FLOATS, the buffer pool.
   */
  override uninitializedFloat32(length: number, capacity = length): Float32Array {
    const heap = length >= HEAP_MIN_FLOATS ? this.runtime.heap : null;
    return heap?.take(length, capacity) ?? super.uninitializedFloat32(length);
  }

  /**
   * Float32 values from the host (`tensor()`, `randn`, a JS kernel's own array) are copied into the
   * heap once, here, so every SIMD kernel that reads the tensor afterwards does so in place instead
   * of copying it into scratch on each call (a parameter is read by several kernels every step).
   */
  override write(values: TypedArray, dtype: DType): DataId {
    const heap = dtype === 'float32' && values.length >= HEAP_MIN_FLOATS ? this.runtime.heap : null;
    if (heap && heap.offsetOf(values) < 0) {
      const block = heap.take(values.length);
      if (block) {
        block.set(values);
        return super.write(block, dtype);
      }
    }
    return super.write(values, dtype);
  }

  protected override recycle(values: TypedArray): void {
    if (!this.runtime.heap?.free(values)) super.recycle(values);
  }

  /** Bytes of the heap in use by tensors and kernels, and taken from the memory in all (null without a heap). */
  get heapStats(): { liveBytes: number; reservedBytes: number } | null {
    return this.runtimeInstance?.heap?.stats ?? null;
  }

  get runtime(): WasmRuntime {
    this.runtimeInstance ??= new WasmRuntime();
    return this.runtimeInstance;
  }

  /** The worker pool, created on first use; null when running on one thread. */
  private threadPool(): WasmThreadPool | null {
    if (!this.poolTried) {
      this.poolTried = true;
      const workers = this.threads - 1;
      this.pool = workers > 0 ? WasmThreadPool.create(this.runtime, workers) : null;
    }
    return this.pool;
  }

  /**
   * Starts the worker pool now and resolves once every worker is ready. Optional: without it the
   * first GEMMs run on the calling thread while workers start.
   */
  async warmUp(): Promise<void> {
    await this.threadPool()?.whenReady();
  }

  /** GEMM tasks that ran on worker threads so far (0 on one thread). */
  get tasksOnWorkers(): number {
    return this.pool?.tasksOnWorkers ?? 0;
  }

  /** `op(A)·op(B)` per batch (see gemm.ts); null when too large for wasm memory. */
  matmul(a: ArrayLike<number>, b: ArrayLike<number>, problem: GemmProblem): Float32Array | null {
    return gemm(this.runtime, this.threadPool(), a, b, problem, this.allocateOutput);
  }

  /** `op` elementwise over float32 values (see unary.ts); null when too large for wasm memory. */
  unary(op: WasmUnaryOp, x: Float32Array): Float32Array | null {
    return unary(this.runtime, x.length >= 2 * 65536 ? this.threadPool() : null, op, x, this.allocateOutput);
  }

  /** Softmax or layerNorm over rows of `d` (see rows.ts); null where the JS kernel should run. */
  rows(
    op: WasmRowOp,
    x: Float32Array,
    d: number,
    layerNorm?: { weight: Float32Array; bias: Float32Array; eps: number },
  ): Float32Array | null {
    return rowwise(
      this.runtime,
      x.length >= 65536 ? this.threadPool() : null,
      op,
      x,
      d,
      layerNorm,
      this.allocateOutput,
    );
  }

  /** LayerNorm's backward for x over rows of `d` (see rows.ts); null where the JS kernel should run. */
  layerNormGrad(
    x: Float32Array,
    weight: Float32Array,
    dy: Float32Array,
    d: number,
    eps: number,
  ): Float32Array | null {
    const pool = x.length >= 65536 ? this.threadPool() : null;
    return layerNormGradRows(this.runtime, pool, x, weight, dy, d, eps, this.allocateOutput);
  }

  /** LayerNorm's backward for weight and bias, `[2, d]` (see rows.ts); null where the JS kernel should run. */
  layerNormParamGrad(x: Float32Array, dy: Float32Array, d: number, eps: number): Float32Array | null {
    const pool = x.length >= 65536 ? this.threadPool() : null;
    return layerNormParamGradRows(this.runtime, pool, x, dy, d, eps, this.allocateOutput);
  }

  /** Sum of [outer, rows, inner] over rows (see column-sum.ts); null where the JS kernel should run. */
  columnSum(x: Float32Array, outer: number, rows: number, inner: number): Float32Array | null {
    const pool = x.length >= 65536 ? this.threadPool() : null;
    return columnSum(this.runtime, pool, x, outer, rows, inner, this.allocateOutput);
  }

  /** `x · mask` with the mask drawn from the generator's stream (see dropout.ts); null when too large. */
  dropout(x: Float32Array, job: DropoutJob): Float32Array | null {
    const pool = x.length >= 2 * 65536 ? this.threadPool() : null;
    return dropoutWasm(this.runtime, pool, x, job, this.allocateOutput);
  }

  /** `a op b` with broadcasting (see binary.ts); null where the JS kernel should run. */
  binary(
    op: WasmBinaryOp,
    a: Float32Array,
    aShape: readonly number[],
    b: Float32Array,
    bShape: readonly number[],
  ): Float32Array | null {
    return binary(this.runtime, op, a, aShape, b, bShape, this.allocateOutput);
  }

  /** Channels-last im2col or its adjoint (see taps.ts); null where the JS kernel should run. */
  taps(op: 'gather' | 'scatter', src: Float32Array, problem: TapsProblem): Float32Array | null {
    const size =
      op === 'gather' ? problem.offsets.length * problem.channels : problem.images * problem.imageFloats;
    return taps(
      this.runtime,
      size >= 65536 ? this.threadPool() : null,
      op,
      src,
      problem,
      this.allocateOutput,
    );
  }

  /** One fused Adam/AdamW update (see adam.ts); null when it does not fit in wasm memory. */
  adamStep(inputs: readonly Float32Array[], attrs: AdamStepAttrs): Float32Array | null {
    return adamStepWasm(this.runtime, inputs, attrs, this.allocateOutput);
  }

  destroy(): void {
    this.pool?.destroy();
    this.pool = null;
    this.poolTried = false;
  }
}
