/**
 * The `wasm` backend's SIMD softmax and layerNorm rows (forward and both backward kernels) against
 * the cpu backend's float64-summed kernels, on row widths that take the vector path (multiples of 4)
 * and one that falls back to JS; special rows (all −∞, huge, constant); bit-identical results on one
 * thread and on the pool.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backends/wasm/wasm-backend.js';
import * as T from '../src/index.js';
import { firstBitDifference } from './bit-compare.js';

const IN_NODE = typeof window === 'undefined';

afterAll(() => T.setBackend('cpu'));

function onBoth(run: () => T.Tensor): [Float32Array, Float32Array] {
  T.setBackend('cpu');
  const ref = run().dataSync() as Float32Array;
  T.setBackend('wasm');
  const got = run().dataSync() as Float32Array;
  T.setBackend('cpu');
  return [got, ref];
}

function expectClose(got: Float32Array, ref: Float32Array, tol: number) {
  expect(got.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i]!)) expect(got[i]).toBeNaN();
    else expect(Math.abs(got[i]! - ref[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(ref[i]!)));
  }
}

describe('wasm softmax / layerNorm rows', () => {
  for (const [rows, d] of [
    [3, 4],
    [7, 20],
    [33, 64],
    [5, 1024],
    [6, 10], // not a multiple of 4: the JS kernel
  ] as const) {
    it(`softmax and layerNorm of ${rows}×${d} match the cpu kernels`, () => {
      const x = () => T.randn([rows, d], { seed: rows * d, std: 3 });
      const [s, sRef] = onBoth(() => x().softmax(-1));
      expectClose(s, sRef, 2e-6);
      const w = () => T.randn([d], { seed: 5 });
      const b = () => T.randn([d], { seed: 6 });
      const [l, lRef] = onBoth(() => T.layerNorm(x(), [d], w(), b()));
      expectClose(l, lRef, 2e-5);
    });
  }

  for (const [rows, d] of [
    [3, 4],
    [33, 64],
    [300, 256], // rows over tasks; columns of the weight/bias sums over tasks (8 a task)
    [5, 36], // 36 columns: four blocks of 8, then one pair of columns at a time
    [6, 10], // not a multiple of 4: the JS kernels
  ] as const) {
    it(`layerNorm's backward (dx, dweight, dbias) of ${rows}×${d} is the cpu kernels' bit for bit`, () => {
      const grads = () => {
        const x = T.randn([rows, d], { seed: rows + d, std: 2 })
          .add(0.5)
          .requiresGrad_();
        const w = T.randn([d], { seed: 5 }).requiresGrad_();
        const b = T.randn([d], { seed: 6 }).requiresGrad_();
        T.layerNorm(x, [d], w, b).backward(T.randn([rows, d], { seed: 7 }));
        return T.cat([x.grad!.reshape([-1]), w.grad!, b.grad!], 0);
      };
      const [g, gRef] = onBoth(grads);
      // float64 in the JS kernels' order: a training run gives the same bits on wasm as before
      expect(firstBitDifference(g, gRef)).toBe(-1);
    });
  }

  it('handles special rows like the composed ops: all −∞ (NaN), huge logits, constant rows', () => {
    const rows = [
      [-Infinity, -Infinity, -Infinity, -Infinity],
      [1e30, 0, -1e30, 5],
      [88, 88, 88, 88],
      [-200, 0, 0, -200],
    ];
    const [s, sRef] = onBoth(() => T.tensor(rows).softmax(-1));
    expectClose(s, sRef, 1e-6);
    // Float32 lane sums: squares must stay below 3.4e38, so layerNorm is checked on |x| ≤ 1e15.
    const [l, lRef] = onBoth(() => T.layerNorm(T.tensor([[1e15, 0, -1e15, 5], ...rows.slice(2)]), [4]));
    expectClose(l, lRef, 1e-4);
  });

  it('layerNorm keeps its precision on rows with a large mean and a small spread', () => {
    // One-pass moments are shifted by the row's first value; unshifted, E[x²] − E[x]² would cancel
    // to noise here (outputs off by 100 % or more). What remains is float32's rounding of the mean
    // (≈ 3e-5 at 1000, against a spread of 0.01): about 3e-3 of the normalized values.
    const x = () => T.randn([16, 256], { seed: 8, std: 0.01 }).add(1000);
    const [l, lRef] = onBoth(() => T.layerNorm(x(), [256]));
    expectClose(l, lRef, 1e-2);
  });

  it.runIf(IN_NODE)('gives the same bits on one thread and on the pool (rows over tasks)', async () => {
    const g = new T.Generator(3);
    const x = Float32Array.from({ length: 800 * 512 }, () => 4 * g.normal());
    const weight = Float32Array.from({ length: 512 }, () => g.normal());
    const bias = Float32Array.from({ length: 512 }, () => g.normal());
    const one = new WasmBackend('wasm-rows-1', 1);
    const many = new WasmBackend('wasm-rows-3', 3);
    try {
      await many.warmUp();
      // Whether a worker wins a task is up to the scheduler (the caller takes tasks too): repeat
      // until one has, checking the bits every time.
      for (let attempt = 0; attempt < 20 && many.tasksOnWorkers === 0; attempt++) {
        for (const ln of [undefined, { weight, bias, eps: 1e-5 }]) {
          const op = ln ? 'layernorm' : 'softmax';
          const a = one.rows(op, x, 512, ln)!;
          const b = many.rows(op, x, 512, ln)!;
          expect(firstBitDifference(a, b)).toBe(-1);
        }
      }
      expect(many.tasksOnWorkers).toBeGreaterThan(0); // the pool really took rows
      const dy = Float32Array.from({ length: x.length }, () => g.normal());
      const before = many.tasksOnWorkers;
      for (let attempt = 0; attempt < 20 && many.tasksOnWorkers === before; attempt++) {
        expect(
          firstBitDifference(
            one.layerNormGrad(x, weight, dy, 512, 1e-5)!,
            many.layerNormGrad(x, weight, dy, 512, 1e-5)!,
          ),
        ).toBe(-1);
        expect(
          firstBitDifference(
            one.layerNormParamGrad(x, dy, 512, 1e-5)!,
            many.layerNormParamGrad(x, dy, 512, 1e-5)!,
          ),
        ).toBe(-1);
      }
      expect(many.tasksOnWorkers).toBeGreaterThan(before);
    } finally {
      one.destroy();
      many.destroy();
    }
  });
});
