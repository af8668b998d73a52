import { ArgumentError, memory, type Tensor, tensor } from '@polymodal/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clipGradNorm, clipGradNormTensor, clipGradValue } from './clip-grad-norm.js';
import { ExponentialMovingAverage } from './ema.js';
import { GradientAccumulator } from './gradient-accumulator.js';

function withGrad(values: number[], grad: number[]): Tensor {
  const p = tensor(values, { requiresGrad: true });
  p.grad = tensor(grad);
  return p;
}

describe('clipGradNorm', () => {
  it('returns the global 2-norm and rescales by maxNorm / (norm + 1e-6)', () => {
    // grads [3, 4] and [12]: √(9 + 16 + 144) = 13.
    const a = withGrad([0, 0], [3, 4]);
    const b = withGrad([0], [12]);
    const norm = clipGradNorm([a, b], 6.5);
    expect(norm).toBeCloseTo(13, 5);
    const coef = 6.5 / (13 + 1e-6);
    expect(Array.from(a.grad!.dataSync())).toEqual(
      [Math.fround(3 * coef), Math.fround(4 * coef)].map((v) => expect.closeTo(v, 6)),
    );
    expect(b.grad!.dataSync()[0]).toBeCloseTo(12 * coef, 5);
  });

  it('leaves grads alone when under the limit, and supports inf and 1 norms', () => {
    const a = withGrad([0, 0], [3, -4]);
    expect(clipGradNorm([a], 100)).toBeCloseTo(5, 6);
    expect(Array.from(a.grad!.dataSync())).toEqual([3, -4]);
    expect(clipGradNorm([a, withGrad([0], [-12])], 100, Infinity)).toBe(12);
    expect(clipGradNorm([a, withGrad([0], [-12])], 100, 1)).toBeCloseTo(19, 5);
  });

  it('validates arguments, reports non-finite norms on request, and leaks nothing', () => {
    const a = withGrad([0], [Number.NaN]);
    expect(() => clipGradNorm([a], -1)).toThrow(ArgumentError);
    expect(() => clipGradNorm([a], 1, 1, { errorIfNonfinite: true })).toThrow(/NaN/);
    const b = withGrad([0, 0], [30, 40]);
    clipGradNorm([b], 1);
    const before = memory().tensors;
    for (let i = 0; i < 3; i++) clipGradNorm([b], 0.5);
    expect(memory().tensors).toBe(before);
  });

  it('clipGradValue clamps elementwise', () => {
    const a = withGrad([0, 0, 0], [-3, 0.2, 5]);
    clipGradValue([a], 1);
    expect(Array.from(a.grad!.dataSync())).toEqual([-1, Math.fround(0.2), 1]);
  });
});

describe('clipGradNormTensor', () => {
  it('clips like clipGradNorm on the device and returns the norm as a tensor (2, 1 and inf norms)', () => {
    for (const [normType, want] of [
      [2, 13],
      [1, 19],
      [Infinity, 12],
    ] as const) {
      const a = withGrad([0, 0], [3, -4]);
      const b = withGrad([0], [12]);
      const before = memory().tensors;
      const norm = clipGradNormTensor([a, b], 6.5, normType);
      expect(memory().tensors).toBe(before + 1); // only the returned norm
      expect(norm.shape).toEqual([]);
      expect(norm.item()).toBeCloseTo(want, 5);
      const coef = Math.min(1, 6.5 / (want + 1e-6));
      expect(Array.from(a.grad!.dataSync())).toEqual([3 * coef, -4 * coef].map((v) => expect.closeTo(v, 5)));
      expect(b.grad!.dataSync()[0]).toBeCloseTo(12 * coef, 5);
      // The same clip as the host version, from the same gradients.
      const c = withGrad([0, 0], [3, -4]);
      const d = withGrad([0], [12]);
      clipGradNorm([c, d], 6.5, normType);
      expect(Array.from(a.grad!.dataSync())).toEqual(
        Array.from(c.grad!.dataSync()).map((v) => expect.closeTo(v, 6)),
      );
      norm.dispose();
    }
  });

  it('leaves gradients under the limit bit for bit and validates its arguments', () => {
    const a = withGrad([0, 0], [0.1, -0.3]);
    const before = Array.from(a.grad!.dataSync());
    clipGradNormTensor([a], 100).dispose();
    expect(Array.from(a.grad!.dataSync())).toEqual(before);
    expect(clipGradNormTensor([tensor([1])], 1).item()).toBe(0); // no gradients: norm 0
    expect(() => clipGradNormTensor([a], -1)).toThrow(ArgumentError);
    expect(() => clipGradNormTensor([a], 1, 0)).toThrow(/normType/);
  });
});

describe('GradientAccumulator', () => {
  it('4 micro-batches of 1 give the same gradient as one batch of 4 (mean loss)', () => {
    const x = [
      [1, 2],
      [0.5, -1],
      [3, 0],
      [-2, 1],
    ];
    const y = [1, 0, 2, -1];
    const loss = (w: Tensor, rows: number[][], t: number[]) =>
      tensor(rows).matmul(w).sub(tensor(t)).square().mean();
    const wBig = tensor([0.3, -0.2], { requiresGrad: true });
    loss(wBig, x, y).backward();
    const wAcc = tensor([0.3, -0.2], { requiresGrad: true });
    const acc = new GradientAccumulator(4);
    const flags = x.map((row, i) => acc.backward(loss(wAcc, [row], [y[i]!])));
    expect(flags).toEqual([false, false, false, true]);
    const big = wBig.grad!.dataSync();
    const small = wAcc.grad!.dataSync();
    for (let i = 0; i < 2; i++) expect(small[i]).toBeCloseTo(big[i]!, 5);
    expect(() => new GradientAccumulator(0)).toThrow(ArgumentError);
  });
});

describe('ExponentialMovingAverage', () => {
  it('shadow ← shadow − (1 − d)(shadow − p) with fixed decay', () => {
    const p = tensor([0, 2], { requiresGrad: true });
    const ema = new ExponentialMovingAverage([p], { decay: 0.5, warmup: false });
    p.assign(tensor([1, 4]));
    ema.update(); // 0.5·[0,2] + 0.5·[1,4] = [0.5, 3]
    ema.update(); // 0.5·[0.5,3] + 0.5·[1,4] = [0.75, 3.5]
    expect(Array.from(ema.shadowParams()[0]!.dataSync())).toEqual([0.75, 3.5]);
    ema.applyTo();
    expect(Array.from(p.dataSync())).toEqual([0.75, 3.5]);
    ema.restore();
    expect(Array.from(p.dataSync())).toEqual([1, 4]);
    expect(() => ema.restore()).toThrow(ArgumentError);
  });

  it('warms the decay up as min(decay, (1 + n)/(10 + n))', () => {
    const p = tensor([0], { requiresGrad: true });
    const ema = new ExponentialMovingAverage([p], { decay: 0.99 });
    expect(ema.currentDecay()).toBeCloseTo(2 / 11, 12);
    p.assign(tensor([11]));
    ema.update(); // d = 2/11: 0 − (9/11)(0 − 11) = 9
    expect(ema.shadowParams()[0]!.dataSync()[0]).toBeCloseTo(9, 5);
    for (let i = 0; i < 2000; i++) ema.numUpdates++;
    expect(ema.currentDecay()).toBe(0.99);
  });

  it('update leaks no tensors', () => {
    const p = tensor([1, 2, 3], { requiresGrad: true });
    const ema = new ExponentialMovingAverage([p]);
    ema.update();
    const before = memory().tensors;
    for (let i = 0; i < 5; i++) ema.update();
    expect(memory().tensors).toBe(before);
  });
});

describe('clipGradNorm properties (fast-check)', () => {
  it('returns the pre-clip norm and leaves a global norm ≤ maxNorm, direction unchanged', () => {
    const vec = fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(
        fc.array(vec, { minLength: 1, maxLength: 3 }),
        fc.double({ min: 0.01, max: 50, noNaN: true }),
        (grads, maxNorm) => {
          const params = grads.map((g) =>
            withGrad(
              g.map(() => 0),
              g,
            ),
          );
          // Independent reference: the 2-norm in float64 of the float32 values.
          const expected = Math.sqrt(grads.flat().reduce((s, v) => s + Math.fround(v) ** 2, 0));
          const total = clipGradNorm(params, maxNorm);
          expect(Math.abs(total - expected)).toBeLessThanOrEqual(1e-4 * expected + 1e-6);
          const after = Math.sqrt(
            params.flatMap((p) => Array.from(p.grad!.dataSync())).reduce((s, v) => s + v * v, 0),
          );
          expect(after).toBeLessThanOrEqual(Math.max(maxNorm, 0) * (1 + 1e-5) + 1e-6);
          if (expected <= maxNorm) expect(after).toBeCloseTo(expected, 4);
          for (const p of params) p.grad!.dispose();
        },
      ),
      { numRuns: 100, seed: 7 },
    );
  });
});
