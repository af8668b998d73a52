import {
  ArgumentError,
  DTypeError,
  Generator,
  gradCheck,
  randn,
  ShapeError,
  type Tensor,
  tensor,
  withAnomalyMode,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { itmLabels, itmLoss, sampleHardNegatives } from './itm.js';

describe('sampleHardNegatives', () => {
  it('draws negatives ∝ softmax(similarity) with the positive excluded', () => {
    // Row 0 of simI2T: [9, ln 2, ln 4]: positive (col 0) excluded, so P(col 1) = 2/6, P(col 2) = 4/6.
    // Column draws of simT2I row 2: [ln 1, ln 3, 9]: P(col 0) = 1/4, P(col 1) = 3/4.
    const simI2T = tensor([
      [9, Math.log(2), Math.log(4)],
      [0, 9, 0],
      [0, 0, 9],
    ]);
    const simT2I = tensor([
      [9, 0, 0],
      [0, 9, 0],
      [0, Math.log(3), 9],
    ]);
    const generator = new Generator(11);
    const textCounts = [0, 0, 0];
    const imageCounts = [0, 0, 0];
    const draws = 3000;
    for (let k = 0; k < draws; k++) {
      const { negativeTextIndices, negativeImageIndices } = sampleHardNegatives(simI2T, simT2I, {
        generator,
      });
      const t = negativeTextIndices.dataSync();
      const im = negativeImageIndices.dataSync();
      textCounts[t[0]!]!++;
      imageCounts[im[2]!]!++;
      // Never the positive itself.
      expect(t[1] === 1 || t[2] === 2 || im[0] === 0 || im[1] === 1).toBe(false);
      negativeTextIndices.dispose();
      negativeImageIndices.dispose();
    }
    // Binomial std with 3000 draws ≈ 0.009; tolerance 0.035 ≈ 4σ.
    expect(textCounts[0]).toBe(0);
    expect(Math.abs(textCounts[1]! / draws - 1 / 3)).toBeLessThan(0.035);
    expect(Math.abs(textCounts[2]! / draws - 2 / 3)).toBeLessThan(0.035);
    expect(imageCounts[2]).toBe(0);
    expect(Math.abs(imageCounts[0]! / draws - 1 / 4)).toBeLessThan(0.035);
  });

  it('never draws an item sharing the positive’s id, and is reproducible from a seed', () => {
    const sim = randn([4, 4], { seed: 1 });
    const ids = [7, 7, 8, 9]; // items 0 and 1 show the same image
    for (let seed = 0; seed < 50; seed++) {
      const t = sampleHardNegatives(sim, sim, { seed, ids }).negativeTextIndices.dataSync();
      expect(t[0]).not.toBe(1);
      expect(t[1]).not.toBe(0);
    }
    const a = sampleHardNegatives(sim, sim, { seed: 3 }).negativeTextIndices.dataSync();
    const b = sampleHardNegatives(sim, sim, { seed: 3 }).negativeTextIndices.dataSync();
    expect([...a]).toEqual([...b]);
  });

  it('rejects bad input with typed errors', () => {
    expect(() => sampleHardNegatives(randn([1, 1]), randn([1, 1]))).toThrow(/at least 2/);
    expect(() => sampleHardNegatives(randn([2, 3]), randn([2, 3]))).toThrow(ShapeError);
    expect(() => sampleHardNegatives(randn([2, 2]), randn([3, 3]))).toThrow(ShapeError);
    expect(() =>
      sampleHardNegatives(
        tensor([
          [0, Number.NaN],
          [0, 0],
        ]),
        randn([2, 2]),
      ),
    ).toThrow(ArgumentError);
    expect(() => sampleHardNegatives(randn([2, 2]), randn([2, 2]), { ids: [1, 1] })).toThrow(/no candidate/);
    expect(() => sampleHardNegatives(randn([2, 2]), randn([2, 2]), { ids: [1] })).toThrow(ShapeError);
  });
});

describe('itmLoss', () => {
  it('is the mean 2-way cross-entropy (hand-worked)', () => {
    // Row 0: logits [0, ln 3], label 1 → −log(3/4). Row 1: [ln 4, 0], label 0 → −log(4/5).
    const out = itmLoss(
      tensor([
        [0, Math.log(3)],
        [Math.log(4), 0],
      ]),
      tensor([1, 0], { dtype: 'int32' }),
    );
    expect(out.loss.item()).toBeCloseTo((-Math.log(3 / 4) - Math.log(4 / 5)) / 2, 5);
  });

  it('passes gradCheck', () => {
    const labels = itmLabels(2);
    const f = (x: Tensor) => itmLoss(x, labels).loss;
    expect(gradCheck(f, [randn([6, 2], { seed: 4 })]).ok).toBe(true);
  });

  it('itmLabels lays out positives then negatives', () => {
    expect([...itmLabels(2).dataSync()]).toEqual([1, 1, 0, 0, 0, 0]);
    expect([...itmLabels(1, 1).dataSync()]).toEqual([1, 0]);
    expect(() => itmLabels(-1)).toThrow(ArgumentError);
  });

  it('rejects bad input with typed errors', () => {
    expect(() => itmLoss(randn([3, 2]), tensor([1, 0, 2], { dtype: 'int32' }))).toThrow(/0 or 1/);
    expect(() => itmLoss(randn([3, 3]), tensor([1, 0, 1], { dtype: 'int32' }))).toThrow(ShapeError);
    expect(() => itmLoss(randn([3, 2]), tensor([1, 0], { dtype: 'int32' }))).toThrow(ShapeError);
    expect(() => itmLoss(randn([3, 2]), tensor([1, 0, 1]))).toThrow(DTypeError);
    expect(() => itmLoss(randn([0, 2]), tensor(new Int32Array(0), { dtype: 'int32' }))).toThrow(/empty/);
    const nan = tensor([[Number.NaN, 0]]);
    withAnomalyMode(() => expect(() => itmLoss(nan, tensor([1], { dtype: 'int32' }))).toThrow(/holds NaN/));
    expect(() => itmLoss(nan, tensor([1], { dtype: 'int32' }), { checkFinite: true })).toThrow(ArgumentError);
  });
});
