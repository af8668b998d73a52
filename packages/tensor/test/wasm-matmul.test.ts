/**
 * The `wasm` backend's SIMD GEMM against an independent float64 reference and the cpu backend, over
 * odd sizes (every panel edge case of the 6×8 micro-kernel), all transpose combinations and batch
 * broadcasting; and bit-identical results whatever the thread count.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { gemm } from '../src/backends/wasm/gemm.js';
import { WasmThreadPool } from '../src/backends/wasm/thread-pool.js';
import { WasmBackend } from '../src/backends/wasm/wasm-backend.js';
import { WasmRuntime } from '../src/backends/wasm/wasm-runtime.js';
import { ENGINE } from '../src/engine.js';
import * as T from '../src/index.js';
import { reference } from './matmul-reference.js';

/** The float32 bits of `x` (a kernel's output may be a view into wasm memory, so not `x.buffer` whole). */
const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

// Worker threads run in Node; on a browser main thread the backend is single-threaded by design.
const IN_NODE = typeof window === 'undefined';

afterAll(() => T.setBackend('cpu'));

function runBatchMatMul(backend: string, a: T.Tensor, b: T.Tensor, transposeA: boolean, transposeB: boolean) {
  T.setBackend(backend);
  const out = ENGINE.runKernel('BatchMatMul', [a, b], { transposeA, transposeB });
  const result = { shape: out.shape, values: out.dataSync() as Float32Array };
  out.dispose();
  return result;
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [1, 3, 17],
  [3, 17, 65],
  [17, 65, 130],
  [65, 130, 1],
  [130, 1, 3],
  [130, 130, 17],
  [65, 17, 130],
  [3, 130, 3],
  [17, 1, 65],
];
const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];
const BATCHES: [number, number][] = [
  [1, 1],
  [3, 1],
  [1, 3],
  [2, 2],
];

describe('wasm BatchMatMul', () => {
  // First in the file: before other tests' pools (which terminate asynchronously) change the count.
  it.runIf(IN_NODE)('creates its pool lazily and never keeps the Node process alive', async () => {
    const handles = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;
    const before = handles();
    const backend = new WasmBackend('wasm-lazy', 2);
    try {
      expect(backend.tasksOnWorkers).toBe(0);
      expect(handles()).toBe(before); // nothing started by the constructor
      await backend.warmUp();
      expect(handles()).toBe(before); // workers exist but are unref'ed
    } finally {
      backend.destroy();
    }
  });

  for (const [m, k, n] of SIZES) {
    for (const [ta, tb] of TRANSPOSES) {
      it(`${m}×${k}×${n}, transposeA=${ta}, transposeB=${tb}, every batch broadcast`, () => {
        for (const [ba, bb] of BATCHES) {
          T.setBackend('cpu');
          const aShape: [number, number, number] = ta ? [ba, k, m] : [ba, m, k];
          const bShape: [number, number, number] = tb ? [bb, n, k] : [bb, k, n];
          const a = T.randn(aShape, { seed: m * 7 + k });
          const b = T.randn(bShape, { seed: n * 11 + k });
          const ref = reference(
            a.dataSync() as Float32Array,
            aShape,
            b.dataSync() as Float32Array,
            bShape,
            ta,
            tb,
          );
          const cpu = runBatchMatMul('cpu', a, b, ta, tb);
          for (const backend of ['wasm-1t', 'wasm']) {
            const got = runBatchMatMul(backend, a, b, ta, tb);
            expect(got.shape).toEqual(ref.shape);
            for (let i = 0; i < ref.values.length; i++) {
              const err = Math.abs(got.values[i]! - ref.values[i]!);
              if (!(err <= ref.bound[i]!))
                expect.fail(`${backend} [${ba},${bb}] [${i}]: ${got.values[i]} vs float64 ${ref.values[i]}`);
              const vsCpu = Math.abs(got.values[i]! - cpu.values[i]!);
              if (!(vsCpu <= 2 * ref.bound[i]!))
                expect.fail(`${backend} [${ba},${bb}] [${i}]: ${got.values[i]} vs cpu ${cpu.values[i]}`);
            }
          }
          a.dispose();
          b.dispose();
        }
      });
    }
  }

  it('catches a wrong product (the checks above can fail)', () => {
    // One flipped sign in B changes a 1×3·3×1 product by 2·a₂b₂, far above the float32 bound.
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([4, 5, 6]);
    const ref = reference(a, [1, 1, 3], b, [1, 3, 1], false, false);
    expect(ref.values[0]).toBe(32); // 1·4 + 2·5 + 3·6, by hand
    const wrong = new Float32Array([4, 5, -6]);
    const got = new WasmBackend('wasm-test', 1).matmul(a, wrong, {
      batchA: 1,
      batchB: 1,
      batch: 1,
      m: 1,
      k: 3,
      n: 1,
      transposeA: false,
      transposeB: false,
    })!;
    expect(got[0]).toBe(-4);
    expect(Math.abs(got[0]! - ref.values[0]!)).toBeGreaterThan(ref.bound[0]!);
  });

  it('returns zeros for an empty inner dimension and empty outputs', () => {
    T.setBackend('wasm');
    const z = T.matmul(T.zeros([3, 0]), T.zeros([0, 2]));
    expect(z.shape).toEqual([3, 2]);
    expect(Array.from(z.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(T.matmul(T.zeros([0, 4]), T.ones([4, 5])).shape).toEqual([0, 5]);
    T.setBackend('cpu');
  });

  it.runIf(IN_NODE)(
    'gives bit-identical results on 1 and on N threads, with workers taking part',
    async () => {
      const one = new WasmBackend('wasm-1', 1);
      const many = new WasmBackend('wasm-3', 3);
      const coldStart = new WasmBackend('wasm-2', 2);
      try {
        const problem = {
          batchA: 1,
          batchB: 3,
          batch: 3,
          m: 131,
          k: 257,
          n: 131, // 1.3 MB of wasm memory: grown after the workers started (1 MB), so they must see the growth
          transposeA: true,
          transposeB: false,
        };
        const g = new T.Generator(5);
        const a = Float32Array.from({ length: problem.m * problem.k }, () => g.normal());
        const b = Float32Array.from({ length: 3 * problem.k * problem.n }, () => g.normal());
        // Before its workers are up, the calling thread does all or most tasks: same bits either way.
        const cold = coldStart.matmul(a, b, problem)!;
        await many.warmUp();
        const expected = one.matmul(a, b, problem)!;
        const before = many.tasksOnWorkers;
        let got = many.matmul(a, b, problem)!;
        for (let rep = 0; rep < 20 && many.tasksOnWorkers === before; rep++)
          got = many.matmul(a, b, problem)!;
        expect(many.threads).toBe(3);
        expect(many.tasksOnWorkers).toBeGreaterThan(before);
        expect(one.tasksOnWorkers).toBe(0);
        expect(bits(got)).toEqual(bits(expected));
        expect(bits(cold)).toEqual(bits(expected));
        // And still correct, against the float64 reference.
        const ref = reference(a, [1, problem.k, problem.m], b, [3, problem.k, problem.n], true, false);
        for (let i = 0; i < ref.values.length; i += 97)
          expect(Math.abs(got[i]! - ref.values[i]!)).toBeLessThanOrEqual(ref.bound[i]!);
      } finally {
        one.destroy();
        many.destroy();
        coldStart.destroy();
      }
    },
  );

  it.runIf(IN_NODE)(
    'a batch of small products (one task per few items) equals each product alone, on 1 and N threads',
    async () => {
      const one = new WasmBackend('wasm-batch-1', 1);
      const many = new WasmBackend('wasm-batch-3', 3);
      try {
        await many.warmUp();
        // attention scores (padded 12×12 tiles copied out), a 64³ head product written in place,
        // a broadcast operand
        for (const [batchA, batchB, m, k, n, ta, tb] of [
          [520, 520, 12, 8, 12, false, true],
          [128, 128, 64, 64, 64, false, false],
          [1, 40, 30, 50, 24, true, false],
        ] as [number, number, number, number, number, boolean, boolean][]) {
          const batch = Math.max(batchA, batchB);
          const problem = { batchA, batchB, batch, m, k, n, transposeA: ta, transposeB: tb };
          const g = new T.Generator(m + n);
          const a = Float32Array.from({ length: batchA * m * k }, () => g.normal());
          const b = Float32Array.from({ length: batchB * k * n }, () => g.normal());
          const expected = one.matmul(a, b, problem)!;
          const before = many.tasksOnWorkers;
          let got = many.matmul(a, b, problem)!;
          for (let rep = 0; rep < 20 && many.tasksOnWorkers === before; rep++)
            got = many.matmul(a, b, problem)!;
          if (batch * m * n * k >= 1 << 22) expect(many.tasksOnWorkers).toBeGreaterThan(before);
          expect(bits(got)).toEqual(bits(expected));
          // item by item through the general path (batch 1): the same sums, the same bits
          for (const p of [0, 1, batch - 1]) {
            const ap = batchA === 1 ? a : a.subarray(p * m * k, (p + 1) * m * k);
            const bp = batchB === 1 ? b : b.subarray(p * k * n, (p + 1) * k * n);
            const single = one.matmul(ap, bp, { ...problem, batchA: 1, batchB: 1, batch: 1 })!;
            expect(bits(got.subarray(p * m * n, (p + 1) * m * n))).toEqual(bits(single));
          }
        }
      } finally {
        one.destroy();
        many.destroy();
      }
    },
  );

  it.runIf(IN_NODE)(
    'splits a small C with a long K (a conv weight gradient) over the threads, with the same bits',
    async () => {
      const one = new WasmBackend('wasm-small-c-1', 1);
      const many = new WasmBackend('wasm-small-c-3', 3);
      try {
        // [48, 4096] × [216, 4096]ᵀ: one 48×216 block at the default block sizes, so one task.
        const problem = {
          batchA: 1,
          batchB: 1,
          batch: 1,
          m: 48,
          k: 4096,
          n: 216,
          transposeA: false,
          transposeB: true,
        };
        const g = new T.Generator(6);
        const a = Float32Array.from({ length: problem.m * problem.k }, () => g.normal());
        const b = Float32Array.from({ length: problem.n * problem.k }, () => g.normal());
        await many.warmUp();
        const expected = one.matmul(a, b, problem)!;
        let got = many.matmul(a, b, problem)!;
        for (let rep = 0; rep < 20 && many.tasksOnWorkers === 0; rep++) got = many.matmul(a, b, problem)!;
        expect(many.tasksOnWorkers).toBeGreaterThan(0);
        expect(bits(got)).toEqual(bits(expected));
        const ref = reference(a, [1, problem.m, problem.k], b, [1, problem.n, problem.k], false, true);
        for (let i = 0; i < ref.values.length; i += 13)
          expect(Math.abs(got[i]! - ref.values[i]!)).toBeLessThanOrEqual(ref.bound[i]!);
      } finally {
        one.destroy();
        many.destroy();
      }
    },
  );

  it('runs on a plain (unshared) memory, as in a browser without cross-origin isolation', () => {
    const plain = new WasmRuntime(false);
    expect(plain.shared).toBe(false);
    expect(plain.memory.buffer).toBeInstanceOf(ArrayBuffer);
    expect(WasmThreadPool.create(plain, 2)).toBeNull(); // no threads without shared memory
    const problem = {
      batchA: 2,
      batchB: 1,
      batch: 2,
      m: 9,
      k: 70,
      n: 21,
      transposeA: false,
      transposeB: true,
    };
    const g = new T.Generator(9);
    const a = Float32Array.from({ length: 2 * 9 * 70 }, () => g.normal());
    const b = Float32Array.from({ length: 21 * 70 }, () => g.normal());
    const got = gemm(plain, null, a, b, problem)!;
    const shared = new WasmBackend('wasm-shared', 1).matmul(a, b, problem)!;
    expect(bits(got)).toEqual(bits(shared)); // same code, same bits
    const ref = reference(a, [2, 9, 70], b, [1, 21, 70], false, true);
    for (let i = 0; i < ref.values.length; i++)
      expect(Math.abs(got[i]! - ref.values[i]!)).toBeLessThanOrEqual(ref.bound[i]!);
  });

  it('the fused multiply-add (relaxed SIMD) and plain micro-kernels both meet the float64 bound', () => {
    const fma = new WasmRuntime(true, true);
    const plainSimd = new WasmRuntime(true, false);
    expect(plainSimd.fusedMultiplyAdd).toBe(false);
    // Node 20 gets relaxed SIMD through V8's flag, set at runtime; newer runtimes have it built in.
    if (IN_NODE) expect(fma.fusedMultiplyAdd).toBe(true);
    const problem = {
      batchA: 1,
      batchB: 1,
      batch: 1,
      m: 31,
      k: 300,
      n: 45,
      transposeA: true,
      transposeB: false,
    };
    const g = new T.Generator(4);
    const a = Float32Array.from({ length: 31 * 300 }, () => g.normal());
    const b = Float32Array.from({ length: 300 * 45 }, () => g.normal());
    const ref = reference(a, [1, 300, 31], b, [1, 300, 45], true, false);
    for (const rt of [fma, plainSimd]) {
      const got = gemm(rt, null, a, b, problem)!;
      for (let i = 0; i < ref.values.length; i++)
        expect(Math.abs(got[i]! - ref.values[i]!)).toBeLessThanOrEqual(ref.bound[i]!);
    }
  });

  it('trains through matmul: gradients match the cpu backend', () => {
    const grads: number[][] = [];
    for (const backend of ['cpu', 'wasm']) {
      T.setBackend(backend);
      const x = T.randn([5, 19], { seed: 1 });
      const w = T.randn([19, 9], { seed: 2, requiresGrad: true });
      T.matmul(x, w).tanh().mean().backward();
      grads.push(Array.from(w.grad!.dataSync()));
    }
    T.setBackend('cpu');
    grads[1]!.forEach((v, i) => expect(v).toBeCloseTo(grads[0]![i]!, 5));
  });
});
