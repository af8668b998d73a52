/**
 * Sum over leading or middle axes on the `wasm` backend (bias gradients): float64 column sums in
 * f64x2 lanes, bit-identical to the cpu kernel's float64 row-by-row loop, on one thread and the pool.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backends/wasm/wasm-backend.js';
import * as T from '../src/index.js';
import { firstBitDifference } from './bit-compare.js';

const IN_NODE = typeof window === 'undefined';

afterAll(() => T.setBackend('cpu'));

function onBoth(run: () => T.Tensor): [Float32Array, Float32Array, number[], number[]] {
  T.setBackend('cpu');
  const r = run();
  T.setBackend('wasm');
  const g = run();
  const out: [Float32Array, Float32Array, number[], number[]] = [
    g.dataSync() as Float32Array,
    r.dataSync() as Float32Array,
    [...g.shape],
    [...r.shape],
  ];
  T.setBackend('cpu');
  return out;
}

describe('wasm column sums', () => {
  for (const [name, run] of [
    [
      'a bias gradient [32,64,256] over (0, 1)',
      () => T.randn([32, 64, 256], { seed: 1, std: 100 }).sum([0, 1]),
    ],
    [
      'a middle axis with several outer slices, 36 columns (16 + 16 + 4)',
      () => T.randn([5, 300, 36], { seed: 2 }).sum(1),
    ],
    [
      'wide values whose float32 sum would round differently',
      () => T.randn([4096, 8], { seed: 3 }).mul(1e7).add(0.37).sum(0),
    ],
    [
      'NaN and infinities propagate per column',
      () => {
        // 4096 × 4 (large enough for the wasm kernel): NaN in column 1, +∞ in 3, +∞ and −∞ in 2
        const v = Float32Array.from({ length: 4096 * 4 }, (_, i) => (i % 7) - 3);
        v[10 * 4 + 1] = Number.NaN;
        v[20 * 4 + 3] = Number.POSITIVE_INFINITY;
        v[30 * 4 + 2] = Number.POSITIVE_INFINITY;
        v[40 * 4 + 2] = Number.NEGATIVE_INFINITY;
        return T.tensor(v, { shape: [4096, 4] }).sum(0);
      },
    ],
    ['6 columns (the JS kernel)', () => T.randn([100, 6], { seed: 4 }).sum(0)],
    ['a small sum (the JS kernel)', () => T.randn([10, 8], { seed: 5 }).sum(0)],
  ] as const) {
    it(`${name}: bit-identical to cpu`, () => {
      const [got, ref, shape, refShape] = onBoth(run);
      expect(shape).toEqual(refShape);
      expect(firstBitDifference(got, ref)).toBe(-1);
    });
  }

  it.runIf(IN_NODE)('gives the same bits on one thread and on the pool', async () => {
    const g = new T.Generator(7);
    const x = Float32Array.from({ length: 2048 * 512 }, () => g.normal() * 50);
    const one = new WasmBackend('wasm-colsum-1', 1);
    const many = new WasmBackend('wasm-colsum-3', 3);
    try {
      await many.warmUp();
      const ref = one.columnSum(x, 2, 1024, 512)!;
      // the JS order: each column's rows added in order in float64
      const col = (o: number, c: number) => {
        let s = 0;
        for (let r = 0; r < 1024; r++) s += x[(o * 1024 + r) * 512 + c]!;
        return Math.fround(s);
      };
      expect([ref[0], ref[511], ref[512], ref[1023]]).toEqual([
        col(0, 0),
        col(0, 511),
        col(1, 0),
        col(1, 511),
      ]);
      for (let attempt = 0; attempt < 20 && many.tasksOnWorkers === 0; attempt++) {
        expect(firstBitDifference(many.columnSum(x, 2, 1024, 512)!, ref)).toBe(-1);
      }
      expect(many.tasksOnWorkers).toBeGreaterThan(0);
    } finally {
      one.destroy();
      many.destroy();
    }
  });
});
