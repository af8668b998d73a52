import {
  ArgumentError,
  DTypeError,
  Generator,
  gradCheck,
  randn,
  ShapeError,
  type Tensor,
  tensor,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { scaledDotProductAttention } from './scaled-dot-product-attention.js';

const arr = (t: Tensor): number[] => Array.from(t.dataSync());

describe('scaledDotProductAttention', () => {
  it('matches a hand computation', () => {
    // One query [1, 0], keys [1, 0] and [0, 1], d = 2 → scores [1/√2, 0];
    // weights = softmax = [e^{a}/(e^{a}+1), 1/(e^{a}+1)] with a = 1/√2.
    const q = tensor([[1, 0]]);
    const k = tensor([
      [1, 0],
      [0, 1],
    ]);
    const v = tensor([
      [10, 0],
      [0, 20],
    ]);
    const { output, weights } = scaledDotProductAttention(q, k, v, { returnWeights: true });
    const a = Math.exp(1 / Math.SQRT2);
    const w0 = a / (a + 1);
    expect(arr(weights!)[0]).toBeCloseTo(w0, 6);
    expect(arr(output)[0]).toBeCloseTo(10 * w0, 5);
    expect(arr(output)[1]).toBeCloseTo(20 * (1 - w0), 5);
    // A custom scale of 0 gives uniform weights.
    expect(arr(scaledDotProductAttention(q, k, v, { scale: 0 }).output)).toEqual([5, 10]);
  });

  it('a masked key never receives weight (bool mask, true = attend), and causal never looks ahead', () => {
    const q = randn([2, 3, 5, 4], { seed: 1 });
    const k = randn([2, 3, 6, 4], { seed: 2 });
    const v = randn([2, 3, 6, 4], { seed: 3 });
    // [B, 1, 1, Lk]: batch 0 keeps keys 0–3, batch 1 keeps keys 0–1.
    const keep = tensor([[[[1, 1, 1, 1, 0, 0]]], [[[1, 1, 0, 0, 0, 0]]]]).bool();
    const { weights } = scaledDotProductAttention(q, k, v, { mask: keep, returnWeights: true });
    const w = arr(weights!);
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3 * 5; i++)
        for (let j = 0; j < 6; j++) if (j >= (b === 0 ? 4 : 2)) expect(w[(b * 15 + i) * 6 + j]).toBe(0);
    const causal = scaledDotProductAttention(q, k, v, { causal: true, returnWeights: true }).weights!;
    const c = arr(causal);
    for (let r = 0; r < 2 * 3; r++)
      for (let i = 0; i < 5; i++) {
        let rowSum = 0;
        for (let j = 0; j < 6; j++) {
          const val = c[(r * 5 + i) * 6 + j]!;
          if (j > i) expect(val).toBe(0);
          rowSum += val;
        }
        expect(rowSum).toBeCloseTo(1, 5);
      }
  });

  it('a fully masked row gives zeros, not NaN (bool and −∞ float masks), with finite gradients', () => {
    const q = randn([2, 3], { seed: 4, requiresGrad: true });
    const k = randn([2, 3], { seed: 5 });
    const v = randn([2, 3], { seed: 6 });
    const mask = tensor([
      [true, false],
      [false, false],
    ]);
    const { output, weights } = scaledDotProductAttention(q, k, v, { mask, returnWeights: true });
    expect(arr(output).slice(3)).toEqual([0, 0, 0]);
    expect(arr(weights!)).toEqual([1, 0, 0, 0]);
    const additive = tensor([
      [0, -Infinity],
      [-Infinity, -Infinity],
    ]);
    const out2 = scaledDotProductAttention(q, k, v, { mask: additive }).output;
    expect(arr(out2).every(Number.isFinite)).toBe(true);
    expect(arr(out2).slice(3)).toEqual([0, 0, 0]);
    out2.sum().backward();
    expect(arr(q.grad!).every(Number.isFinite)).toBe(true);
  });

  it('passes a gradient check through q, k and v (with mask and causal)', () => {
    const q = randn([2, 3, 4], { seed: 7 });
    const k = randn([2, 3, 4], { seed: 8 });
    const v = randn([2, 3, 4], { seed: 9 });
    const mask = tensor([[true, true, false]]);
    const f = (a: Tensor, b: Tensor, c: Tensor) =>
      scaledDotProductAttention(a, b, c, { mask, causal: true }).output.tanh().mean();
    expect(gradCheck(f, [q, k, v]).ok).toBe(true);
    // A deliberately wrong gradient (v's contribution detached) must be caught.
    const wrong = (a: Tensor, b: Tensor, c: Tensor) =>
      scaledDotProductAttention(a, b, c.detach()).output.mean();
    expect(gradCheck(wrong, [q, k, v]).ok).toBe(false);
  });

  it('dropout is seeded and scales the kept weights by 1/(1−p)', () => {
    const q = randn([1, 6, 4], { seed: 1 });
    const plain = arr(scaledDotProductAttention(q, q, q, { returnWeights: true }).weights!);
    const run = () =>
      arr(
        scaledDotProductAttention(q, q, q, { dropout: 0.5, generator: new Generator(3), returnWeights: true })
          .weights!,
      );
    const w = run();
    expect(run()).toEqual(w);
    expect(w.filter((x) => x === 0).length).toBeGreaterThan(5);
    w.forEach((x, i) => {
      if (x !== 0) expect(x).toBeCloseTo(plain[i]! * 2, 5);
    });
  });

  it('rejects bad shapes, dtypes and arguments with typed errors naming them', () => {
    const q = randn([2, 4, 8]);
    expect(() => scaledDotProductAttention(q, randn([2, 5, 7]), randn([2, 5, 8]))).toThrow(
      /scaledDotProductAttention: q \[2,4,8\] and k \[2,5,7\] must share the last dim/,
    );
    expect(() => scaledDotProductAttention(q, randn([2, 5, 8]), randn([2, 6, 8]))).toThrow(ShapeError);
    expect(() => scaledDotProductAttention(q, q, q, { mask: tensor([[true, false, true]]) })).toThrow(
      /mask \[1,3\] does not broadcast to \[2,4,4\]/,
    );
    expect(() => scaledDotProductAttention(q, q, q, { mask: tensor([1], { dtype: 'int32' }) })).toThrow(
      DTypeError,
    );
    expect(() => scaledDotProductAttention(q, q, q, { dropout: 1 })).toThrow(ArgumentError);
    expect(() => scaledDotProductAttention(q, randn([2, 3, 8]), randn([2, 3, 8]), { causal: true })).toThrow(
      /Lq ≤ Lk/,
    );
    expect(() => scaledDotProductAttention(randn([8]), q, q)).toThrow(/rank ≥ 2/);
  });
});
