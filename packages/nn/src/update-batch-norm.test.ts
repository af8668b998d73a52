import { memory, randn, type Tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, BatchNorm2d } from './batch-norm.js';
import { Sequential } from './containers.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { updateBatchNorm } from './update-batch-norm.js';

/** Per-feature mean and unbiased variance of [N, C] rows, in float64 (independent of the kernels). */
function stats(rows: Tensor[], c: number): { mean: number[]; variance: number[] } {
  const mean = new Array<number>(c).fill(0);
  const variance = new Array<number>(c).fill(0);
  for (const x of rows) {
    const v = x.dataSync();
    const n = x.shape[0]!;
    for (let j = 0; j < c; j++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += v[i * c + j]!;
      m /= n;
      let s = 0;
      for (let i = 0; i < n; i++) s += (v[i * c + j]! - m) ** 2;
      // Each batch counts 1/numBatches (cumulative average of the per-batch statistics).
      mean[j]! += m / rows.length;
      variance[j]! += s / (n - 1) / rows.length;
    }
  }
  return { mean, variance };
}

describe('updateBatchNorm', () => {
  it('replaces stale running statistics by the equal-weight average over the given batches', () => {
    const bn = new BatchNorm1d(3);
    const model = new Sequential(bn);
    // Stale statistics from a different distribution.
    for (let i = 0; i < 5; i++) model.forward(randn([16, 3], { seed: i }).mul(10).add(7));
    const batches = [0, 1, 2].map((i) =>
      randn([8, 3], { seed: 10 + i })
        .mul(2)
        .sub(1),
    );
    model.eval();
    expect(updateBatchNorm(model, (i) => model.forward(batches[i]!), 3)).toBe(1);
    const want = stats(batches, 3);
    const got = {
      mean: Array.from(bn.runningMean!.dataSync()),
      variance: Array.from(bn.runningVar!.dataSync()),
    };
    got.mean.forEach((v, j) => expect(v).toBeCloseTo(want.mean[j]!, 5));
    got.variance.forEach((v, j) => expect(v).toBeCloseTo(want.variance[j]!, 4));
    expect(bn.numBatchesTracked!.item()).toBe(3);
    // Mode and momentum restored; the module was in eval mode before.
    expect(model.training).toBe(false);
    expect(bn.training).toBe(false);
    expect(bn.momentum).toBe(0.1);
  });

  it('touches no parameter, leaves no gradient and no tensor behind, restores mixed training flags', () => {
    const model = new Sequential(new Linear(4, 6, { seed: 0 }), new BatchNorm1d(6), new Dropout(0.5));
    model.train();
    model.at(2).eval(); // a mixed tree: dropout off, the rest training
    const before = model.parameters().map((p) => Array.from(p.dataSync()));
    const x = randn([10, 4], { seed: 1 });
    const live = memory().tensors;
    updateBatchNorm(model, () => model.forward(x), 4);
    expect(memory().tensors).toBe(live);
    model.parameters().forEach((p, i) => {
      expect(Array.from(p.dataSync())).toEqual(before[i]);
      expect(p.grad).toBeNull();
    });
    expect(model.at(0).training).toBe(true);
    expect(model.at(2).training).toBe(false);
  });

  it('restores momentum even when a batch throws; refuses bad arguments; a model without BatchNorm is a no-op', () => {
    const bn = new BatchNorm2d(2, { momentum: 0.3 });
    expect(() =>
      updateBatchNorm(
        bn,
        () => {
          throw new Error('boom');
        },
        2,
      ),
    ).toThrow('boom');
    expect(bn.momentum).toBe(0.3);
    expect(() => updateBatchNorm(bn, () => {}, 0)).toThrow(/numBatches must be a positive integer, got 0/);
    expect(updateBatchNorm(new Linear(2, 2), () => {}, 1)).toBe(0);
  });
});
