/**
 * Tensors in WebAssembly memory on the `wasm` backend (wasm-heap.ts): the allocator itself, kernels
 * reading and writing tensors in place (results bit-identical to the copying path and to cpu), the
 * channels-last im2col kernels (taps.ts), and a training loop whose heap stays flat.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backends/wasm/wasm-backend.js';
import { sizeClass, WasmHeap } from '../src/backends/wasm/wasm-heap.js';
import { wasmKernelConfigs } from '../src/backends/wasm/wasm-kernels.js';
import { WasmRuntime } from '../src/backends/wasm/wasm-runtime.js';
import { ENGINE } from '../src/engine.js';
import * as T from '../src/index.js';
import { registerKernels } from '../src/kernel-registry.js';

afterAll(() => T.setBackend('cpu'));

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/**
 * A wasm backend registered as `name` with `threads` threads on a shared memory with the heap
 * (`heap`), a shared memory without it (`copying`), or a plain memory (`plain`: as in a browser
 * page that is not cross-origin isolated; growth detaches views, so kernels copy).
 */
function wasmBackend(name: string, threads: number, memory: 'heap' | 'copying' | 'plain'): string {
  registerKernels(wasmKernelConfigs(name));
  T.registerBackend(name, () => {
    const backend = new WasmBackend(name, threads);
    if (memory !== 'heap') {
      const runtime = memory === 'plain' ? new WasmRuntime(false) : new WasmRuntime(true, true, false);
      Object.defineProperty(backend, 'runtime', { value: runtime });
    }
    return backend;
  });
  return name;
}
const HEAP_1T = wasmBackend('wasm-heap-1t', 1, 'heap');
const HEAP_3T = wasmBackend('wasm-heap-3t', 3, 'heap');
const COPYING = wasmBackend('wasm-copying', 1, 'copying');
const PLAIN = wasmBackend('wasm-plain', 1, 'plain');

describe('WasmHeap', () => {
  it('serves sizes in classes of at most 25 % waste, with 16 bytes of slack, 16-byte aligned', () => {
    for (const bytes of [1, 4, 100, 1000, 4096, 5000, 1 << 20, (1 << 20) + 4, 123457 * 4]) {
      const size = sizeClass(bytes);
      expect(size % 16).toBe(0);
      expect(size).toBeGreaterThanOrEqual(bytes + 16);
      if (bytes > 1024) expect(size).toBeLessThanOrEqual(1.25 * (bytes + 16) + 16);
    }
    // Lengths of one class share blocks.
    expect(sizeClass(1_000_000)).toBe(sizeClass(1_000_100));
  });

  it('reuses freed blocks of the class, and keeps views valid when the memory grows', () => {
    const runtime = new WasmRuntime();
    const heap = runtime.heap!;
    expect(heap).toBeInstanceOf(WasmHeap);
    const a = heap.take(1000)!;
    a.fill(7);
    const at = heap.offsetOf(a);
    expect(at % 16).toBe(0);
    expect(heap.owns(a)).toBe(true);
    expect(heap.free(a)).toBe(true);
    expect(heap.free(a)).toBe(false); // freed once only
    const b = heap.take(1001)!; // same class: the same block
    expect(heap.offsetOf(b)).toBe(at);
    b.fill(3);
    const before = runtime.memory.buffer.byteLength;
    const big = heap.take(16 << 20)!; // grows the memory by 64 MB
    expect(runtime.memory.buffer.byteLength).toBeGreaterThan(before);
    big[big.length - 1] = 5;
    expect(b.every((v) => v === 3)).toBe(true); // the old view still sees its floats
    expect(runtime.f32[heap.offsetOf(b) / 4]).toBe(3);
    expect(heap.offsetOf(new Float32Array(4))).toBe(-1); // not in wasm memory
    const live = heap.stats.liveBytes;
    heap.free(big);
    expect(heap.stats.liveBytes).toBe(live - sizeClass((16 << 20) * 4));
  });
});

describe('wasm kernels on tensors in wasm memory', () => {
  it('outputs live in the heap and equal the copying path and cpu bit for bit', () => {
    const run = (backend: string) => {
      T.setBackend(backend);
      const x = T.tensor(
        Float32Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i)),
        { shape: [64, 48] },
      );
      const w = T.tensor(
        Float32Array.from({ length: 48 * 40 }, (_, i) => Math.cos(i * 0.7)),
        { shape: [48, 40] },
      );
      const h = x.matmul(w); // GEMM (in place: 40 = 5·8 columns, 64 rows → padded rows spill into capacity)
      const y = h
        .relu()
        .add(h)
        .mul(
          T.tensor(
            Float32Array.from({ length: 40 }, (_, j) => j / 7),
            { shape: [40] },
          ),
        );
      const z = y.softmax(-1).add(y.exp().tanh()); // rows, unary, same-shape add of two heap tensors
      return { h, values: z.dataSync().slice() as Float32Array };
    };
    const heap = run(HEAP_1T);
    const heapBackend = ENGINE.findBackend(HEAP_1T) as WasmBackend;
    expect(heapBackend.runtime.heap!.owns(heapBackend.values(heap.h.dataId))).toBe(true);
    const copying = run(COPYING);
    const cpu = run('cpu');
    expect(bits(heap.values)).toEqual(bits(copying.values));
    // exp/tanh are SIMD approximations (a few ulp from Math), the rest is exact float32 arithmetic.
    for (let i = 0; i < cpu.values.length; i++) expect(heap.values[i]).toBeCloseTo(cpu.values[i]!, 5);
  });

  it('im2col and its adjoint, channels last, are bit-identical to cpu on 1 and 3 threads', () => {
    const cases: [shape: [number, number, number, number], options: T.Conv2dOptions][] = [
      [[3, 8, 8, 32], { padding: 1 }],
      [[2, 9, 7, 8], { stride: 2, padding: 1 }],
      [[4, 6, 6, 4], { padding: 0 }],
      [[40, 8, 8, 16], { padding: 1 }], // big enough for the pool
    ];
    for (const [shape, options] of cases) {
      const c = shape[3];
      const grads = (backend: string) => {
        T.setBackend(backend);
        const x = T.tensor(
          Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.37)),
          { shape },
        ).requiresGrad_();
        const w = T.tensor(
          Float32Array.from({ length: 4 * c * 9 }, (_, i) => Math.cos(i * 0.11)),
          {
            shape: [4, c, 3, 3],
          },
        ).requiresGrad_();
        const y = T.conv2dNhwc(x, w, null, options);
        y.mul(y).sum().backward();
        return { y: y.dataSync().slice() as Float32Array, dx: x.grad!.dataSync().slice() as Float32Array };
      };
      const cpu = grads('cpu');
      for (const backend of [HEAP_1T, HEAP_3T, COPYING, PLAIN]) {
        const got = grads(backend);
        expect(got.dx.length).toBe(cpu.dx.length);
        // The forward's GEMM sums in another order than the cpu kernel's: close, not identical.
        for (let i = 0; i < cpu.y.length; i++) expect(got.y[i]).toBeCloseTo(cpu.y[i]!, 3);
        for (let i = 0; i < cpu.dx.length; i++) expect(got.dx[i]).toBeCloseTo(cpu.dx[i]!, 2);
      }
      // Same GEMMs, so the im2col kernels alone decide: heap (1 or 3 threads) and copying agree exactly.
      expect(bits(grads(HEAP_3T).dx)).toEqual(bits(grads(HEAP_1T).dx));
      expect(bits(grads(COPYING).dx)).toEqual(bits(grads(HEAP_1T).dx));
    }
  });

  it('the taps kernels themselves equal the JS kernels bit for bit', () => {
    const geometry = { kernelH: 3, kernelW: 3, strideH: 2, strideW: 1, padH: 1, padW: 1 };
    const x = Float32Array.from({ length: 5 * 7 * 6 * 12 }, (_, i) => Math.sin(i));
    const run = (backend: string) => {
      T.setBackend(backend);
      const xt = T.tensor(x, { shape: [5, 7, 6, 12] });
      const cols = ENGINE.runKernel('Im2ColNhwc', [xt], geometry);
      const back = ENGINE.runKernel('Col2ImNhwc', [cols], {
        ...geometry,
        batch: 5,
        height: 7,
        width: 6,
        channels: 12,
      });
      return {
        cols: cols.dataSync().slice() as Float32Array,
        back: back.dataSync().slice() as Float32Array,
        shape: cols.shape,
      };
    };
    const cpu = run('cpu');
    for (const backend of [HEAP_1T, HEAP_3T]) {
      const got = run(backend);
      expect(got.shape).toEqual(cpu.shape);
      expect(bits(got.cols)).toEqual(bits(cpu.cols));
      expect(bits(got.back)).toEqual(bits(cpu.back));
    }
  });

  it('batch norm: rows [N, C] bit-identical to cpu, runs [N, C, H, W] within float64 rounding', () => {
    const run = (backend: string, shape: number[]) => {
      T.setBackend(backend);
      return T.scope(() => {
        const size = shape.reduce((a, b) => a * b);
        const c = shape[1]!;
        const x = T.tensor(
          Float32Array.from({ length: size }, (_, i) => 3 + Math.sin(i * 0.91) * 2),
          {
            shape,
            requiresGrad: true,
          },
        );
        const w = T.tensor(
          Float32Array.from({ length: c }, (_, i) => 0.5 + i / 8),
          { requiresGrad: true },
        );
        const b = T.tensor(
          Float32Array.from({ length: c }, (_, i) => i / 5 - 1),
          { requiresGrad: true },
        );
        const rm = T.zeros([c]);
        const rv = T.ones([c]);
        const y = T.batchNorm(x, rm, rv, w, b, { training: true });
        y.backward(
          T.tensor(
            Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.37)),
            { shape },
          ),
        );
        const read = (t: T.Tensor) => t.dataSync().slice() as Float32Array;
        return [read(y), read(x.grad!), read(w.grad!), read(b.grad!), read(rm), read(rv)];
      });
    };
    for (const shape of [
      [300, 32],
      [7, 12],
    ]) {
      const cpu = run('cpu', shape);
      for (const backend of [HEAP_1T, COPYING, PLAIN]) {
        const got = run(backend, shape);
        got.forEach((values, i) => expect(bits(values)).toEqual(bits(cpu[i]!)));
      }
    }
    for (const shape of [
      [5, 6, 8, 8],
      [3, 4, 2, 6],
      [4, 3, 5, 5],
    ]) {
      const cpu = run('cpu', shape);
      const got = run(HEAP_1T, shape);
      got.forEach((values, i) => {
        for (let j = 0; j < values.length; j++)
          expect(Math.abs(values[j]! - cpu[i]![j]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(cpu[i]![j]!)));
      });
    }
  });

  it('host values are copied into the heap once, when the tensor is made (not aliased, freed on dispose)', () => {
    T.setBackend(HEAP_1T);
    const backend = ENGINE.findBackend(HEAP_1T) as WasmBackend;
    const heap = backend.runtime.heap!;
    const mine = Float32Array.from({ length: 5000 }, (_, i) => i);
    const live = heap.stats.liveBytes;
    const x = T.tensor(mine);
    const stored = backend.values(x.dataId) as Float32Array;
    expect(heap.owns(stored)).toBe(true);
    expect(heap.stats.liveBytes).toBe(live + sizeClass(5000 * 4));
    mine[0] = -1; // the caller's array is theirs: the tensor keeps the values it was made with
    expect(x.dataSync()[0]).toBe(0);
    expect(Array.from(x.dataSync().slice(1, 4))).toEqual([1, 2, 3]);
    const r = T.randn([64, 64], { seed: 1 }); // host-drawn values too
    expect(heap.owns(backend.values(r.dataId) as Float32Array)).toBe(true);
    x.dispose();
    r.dispose();
    expect(heap.stats.liveBytes).toBe(live);
    // Small float32 tensors and outputs (under 1024 floats: a scalar loss, a bias) stay in JS arrays,
    // where making one costs less than a heap block; int32 and bool always do (no SIMD kernel reads them).
    const small = T.randn([1000], { seed: 2 });
    expect(heap.owns(backend.values(small.dataId) as Float32Array)).toBe(false);
    expect(heap.owns(backend.values(small.add(1).dataId) as Float32Array)).toBe(false);
    expect(heap.owns(backend.values(T.tensor([1, 2], { dtype: 'int32' }).dataId) as never)).toBe(false);
    expect(heap.stats.liveBytes).toBe(live);
  });

  it('a training loop keeps the heap flat', () => {
    T.setBackend(HEAP_1T);
    const backend = ENGINE.findBackend(HEAP_1T) as WasmBackend;
    const w = T.randn([32, 16], { seed: 3 }).requiresGrad_();
    const x = T.randn([64, 32], { seed: 4 });
    const step = () =>
      T.scope(() => {
        const loss = x.matmul(w).relu().softmax(-1).sum();
        loss.backward();
        const g = w.grad!;
        w.grad = null;
        g.dispose();
      });
    for (let i = 0; i < 5; i++) step();
    const live = backend.heapStats!.liveBytes;
    const reserved = backend.heapStats!.reservedBytes;
    for (let i = 0; i < 50; i++) step();
    expect(backend.heapStats!.liveBytes).toBe(live);
    expect(backend.heapStats!.reservedBytes).toBe(reserved);
  });
});
