import { relaxedSimdAvailable } from './relaxed-simd.js';
import { WasmHeap } from './wasm-heap.js';
import {
  WASM_MODULE_PLAIN,
  WASM_MODULE_PLAIN_FMA,
  WASM_MODULE_SHARED,
  WASM_MODULE_SHARED_FMA,
} from './wasm-module-bytes.js';

/** What the module exports (see generate-wasm-module.mjs). */
export interface WasmExports {
  /** Runs task `t` of the job whose i32 parameters start at byte `params`. */
  run_task(params: number, t: number): void;
  /** Runs chunk `t` of the elementwise job whose i32 parameters start at byte `params`. */
  unary_task(params: number, t: number): void;
  /** Batch-norm per-channel sums over x (and dy) `[n, c, l]` into float64 accumulators (see batch-norm.ts). */
  bn_sums(
    x: number,
    y: number,
    n: number,
    c: number,
    l: number,
    mean: number,
    acc1: number,
    acc2: number,
    mode: number,
  ): void;
  /** Batch-norm per-channel affine pass: x·k + b (mode 0) or dy·k + x·a + b (mode 1). */
  bn_affine(
    x: number,
    y: number,
    n: number,
    c: number,
    l: number,
    k: number,
    a: number,
    b: number,
    dst: number,
    mode: number,
  ): void;
  /** Runs task `t` of the channels-last im2col job at `params` (see taps.ts). */
  taps_task(params: number, t: number): void;
  /** Runs task `t` (a few items of a batch of small products) of the GEMM job at `params` (see gemm.ts). */
  batch_task(params: number, t: number): void;
  /** Runs task `t` (a block of columns) of the column-sum job at `params` (see column-sum.ts). */
  colsum_task(params: number, t: number): void;
  /** Runs task `t` (a chunk of elements) of the dropout job at `params` (see dropout.ts). */
  dropout_task(params: number, t: number): void;
  /** Runs task `t` (a block of rows) of the softmax / layerNorm job at `params`. */
  rows_task(params: number, t: number): void;
  /** Runs task `t` (a block of columns) of layerNorm's weight/bias gradient job at `params` (see rows.ts). */
  ln_param_task(params: number, t: number): void;
  /** Runs packing task `t` (a row block of A or a column block of B) of the GEMM job at `params`. */
  pack_task(params: number, t: number): void;
  /** Packs op(X) into panels of `r` (see generate-wasm-module.mjs); addresses in bytes. */
  pack(src: number, dst: number, outer: number, k: number, so: number, sq: number, r: number): void;
  /** Elementwise ops: `count` f32x4 vectors from byte `src` to byte `dst`. */
  relu(src: number, dst: number, count: number): void;
  exp(src: number, dst: number, count: number): void;
  sigmoid(src: number, dst: number, count: number): void;
  tanh(src: number, dst: number, count: number): void;
  /** GELU, exact (erf) form. */
  gelu(src: number, dst: number, count: number): void;
  /** Binary ops over `count` vectors; mode 0: a and b runs, 1: b one value, 2: a one value, 3: both. */
  add(a: number, b: number, dst: number, count: number, mode: number): void;
  sub(a: number, b: number, dst: number, count: number, mode: number): void;
  mul(a: number, b: number, dst: number, count: number, mode: number): void;
  /** b where a > 0, else +0 (relu's backward), in the same layout as the binary ops. */
  relu_grad(a: number, b: number, dst: number, count: number, mode: number): void;
  /** One Adam/AdamW update over `count` vectors (see adam.ts for the parameters). */
  adam_step(
    p: number,
    g: number,
    m: number,
    v: number,
    outP: number,
    outM: number,
    outV: number,
    count: number,
    decay: number,
    wd: number,
    oneMinusB1: number,
    b2: number,
    oneMinusB2: number,
    bc2Sqrt: number,
    eps: number,
    negStep: number,
    mode: number,
  ): void;
  /** gelu'(a)·b for same-shape a (x) and b (dy); mode must be 0. */
  gelu_grad(a: number, b: number, dst: number, count: number, mode: number): void;
}

const PAGE_BYTES = 65536;

/** False where `POLYMODAL_WASM_HEAP=0` is set (Node); browsers have no environment. */
function heapWanted(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.POLYMODAL_WASM_HEAP !== '0';
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A shared memory when this runtime allows one (threads), else null. */
function createSharedMemory(): WebAssembly.Memory | null {
  if (typeof SharedArrayBuffer === 'undefined') return null;
  // A shared memory needs a maximum, reserved up front: try 4 GiB, then smaller where address space is short.
  for (const maximum of [65536, 16384, 4096]) {
    try {
      return new WebAssembly.Memory({ initial: 16, maximum, shared: true });
    } catch {
      // try a smaller reservation
    }
  }
  return null;
}

/**
 * One WebAssembly memory with the kernel module instantiated on it, grown on demand. Shared (so a
 * worker pool can compute in it) where SharedArrayBuffer exists, plain otherwise.
 *
 * ```ts
 * const rt = new WasmRuntime();
 * rt.reserve(1 << 20);
 * rt.f32.set(values, 16);
 * ```
 */
export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly shared: boolean;
  /** Whether the GEMM micro-kernel uses a fused multiply-add (relaxed SIMD). */
  readonly fusedMultiplyAdd: boolean;
  readonly exports: WasmExports;
  /**
   * Where tensors live on a shared memory (see wasm-heap.ts); null on a plain memory, whose growth
   * would detach views into it: there kernels copy operands in and results out.
   */
  readonly heap: WasmHeap | null;
  private f32View: Float32Array;
  private i32View: Int32Array;

  /**
   * @param preferShared false: a plain memory even where a shared one is possible (tests the browser path).
   * @param preferFma false: the plain-SIMD micro-kernel even where relaxed SIMD is available.
   * @param preferHeap false: tensors stay in JS arrays and kernels copy them in and out even on a
   *   shared memory (for comparison; `POLYMODAL_WASM_HEAP=0` sets it).
   */
  constructor(preferShared = true, preferFma = true, preferHeap = heapWanted()) {
    const shared = preferShared ? createSharedMemory() : null;
    this.shared = shared !== null;
    this.fusedMultiplyAdd = preferFma && relaxedSimdAvailable();
    this.memory = shared ?? new WebAssembly.Memory({ initial: 16 });
    const source = this.fusedMultiplyAdd
      ? this.shared
        ? WASM_MODULE_SHARED_FMA
        : WASM_MODULE_PLAIN_FMA
      : this.shared
        ? WASM_MODULE_SHARED
        : WASM_MODULE_PLAIN;
    // Synchronous compile: the module is a few KB, within browsers' main-thread limit.
    this.module = new WebAssembly.Module(decodeBase64(source));
    const instance = new WebAssembly.Instance(this.module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as WasmExports;
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
    this.heap = this.shared && preferHeap ? new WasmHeap(this.memory, (bytes) => this.reserve(bytes)) : null;
  }

  /** Grows the memory to hold at least `bytes`; false when that is beyond what it can hold. */
  reserve(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      try {
        this.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
      } catch {
        return false;
      }
    }
    this.refreshViews();
    return true;
  }

  /** The memory as float32 (views are refreshed after growth). */
  get f32(): Float32Array {
    this.refreshViews();
    return this.f32View;
  }

  get i32(): Int32Array {
    this.refreshViews();
    return this.i32View;
  }

  private refreshViews(): void {
    const buffer = this.memory.buffer;
    if (this.f32View.buffer !== buffer || this.f32View.byteLength !== buffer.byteLength) {
      this.f32View = new Float32Array(buffer);
      this.i32View = new Int32Array(buffer);
    }
  }
}
