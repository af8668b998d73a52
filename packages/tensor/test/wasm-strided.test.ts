/**
 * Transpose, Slice and BroadcastTo on the `wasm` backend, whose contiguous runs (a multiple of 4
 * floats, 16 K floats or more in all) are copied by the SIMD run gather: bit-identical to the cpu
 * kernels, including unaligned slice offsets, the pool, and the shapes that stay with the JS kernel.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stridedRuns } from '../src/backends/wasm/strided.js';
import * as T from '../src/index.js';
import { firstBitDifference } from './bit-compare.js';

afterAll(() => T.setBackend('cpu'));

function onBoth(run: () => T.Tensor): [Float32Array, Float32Array, number[], number[]] {
  T.setBackend('cpu');
  const r = run();
  const ref = r.dataSync() as Float32Array;
  T.setBackend('wasm');
  const g = run();
  const got = g.dataSync() as Float32Array;
  T.setBackend('cpu');
  return [got, ref, [...g.shape], [...r.shape]];
}

const cases: [string, () => T.Tensor][] = [
  [
    'an attention head transpose [32,64,4,64] → [32,4,64,64]',
    () =>
      T.arange(32 * 64 * 256)
        .reshape([32, 64, 4, 64])
        .transpose(1, 2),
  ],
  ['its inverse', () => T.randn([32, 4, 64, 64], { seed: 1 }).permute(0, 2, 1, 3)],
  [
    'a permute of three axes keeping the last',
    () => T.randn([8, 16, 12, 40], { seed: 2 }).permute(2, 0, 1, 3),
  ],
  ['a slice at an unaligned offset', () => T.randn([130, 64, 36], { seed: 3 }).slice(1, 3, 61)],
  [
    'a slice of the last axis (runs of 8 from offset 5)',
    () => T.randn([300, 64, 20], { seed: 4 }).slice(2, 5, 13),
  ],
  ['a broadcast of a row block', () => T.randn([1, 64, 64], { seed: 5 }).expand([32, 64, 64])],
  ['a transpose that moves the last axis (JS)', () => T.randn([256, 192], { seed: 6 }).transpose(0, 1)],
  ['runs of 34 floats (JS)', () => T.randn([130, 64, 34], { seed: 7 }).permute(1, 0, 2)],
  ['a small transpose (JS)', () => T.randn([4, 8, 2, 16], { seed: 8 }).transpose(1, 2)],
];

describe('wasm strided copies (Transpose, Slice, BroadcastTo)', () => {
  for (const [name, run] of cases) {
    it(`${name}: bit-identical to cpu`, () => {
      const [got, ref, shape, refShape] = onBoth(run);
      expect(shape).toEqual(refShape);
      expect(firstBitDifference(got, ref)).toBe(-1);
    });
  }

  it('the run table: each output run starts at its source offset', () => {
    // [2, 3, 4096] transposed to [3, 2, 4096]: source strides [4096, 12288, 1], runs of 4096
    const r = stridedRuns([3, 2, 4096], [4096, 12288, 1], 0)!;
    expect(r.run).toBe(4096);
    expect(Array.from(r.offsets)).toEqual([0, 12288, 4096, 16384, 8192, 20480]);
    const shifted = stridedRuns([3, 2, 4096], [4096, 12288, 1], 7)!; // a slice's offset
    expect(Array.from(shifted.offsets)).toEqual([7, 12295, 4103, 16391, 8199, 20487]);
    expect(stridedRuns([3, 2, 4096], [4096, 12288, 2], 0)).toBeNull(); // a step: not contiguous
    expect(stridedRuns([3, 2, 4094], [4094, 12282, 1], 0)).toBeNull(); // not a multiple of 4
    expect(stridedRuns([2, 2, 8], [8, 16, 1], 0)).toBeNull(); // too small to be worth it
  });
});
