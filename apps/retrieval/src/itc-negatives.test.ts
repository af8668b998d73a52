import { contrastiveLoss } from '@polymodal/losses';
import { Generator, randn, type Tensor, tensor, valueAndGrad } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { contrastiveWithNegatives } from './itc-negatives.js';

const rows = (t: Tensor) => {
  const [n, d] = t.shape as [number, number];
  const v = Array.from(t.dataSync());
  return Array.from({ length: n }, (_, i) => v.slice(i * d, (i + 1) * d));
};
const normalize = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const logSumExp = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

/** The twin's ITC with --neg-caps, in float64 plain JS (torch_twin.py, lines "lpi = … cat"). */
function reference(
  img: number[][],
  txt: number[][],
  neg: number[][],
  logScale: number,
  dup: boolean[][],
  negHolds: boolean[][],
): number {
  const s = Math.exp(Math.min(Math.max(logScale, 0), Math.log(100)));
  const I = img.map(normalize);
  const T = txt.map(normalize);
  const N = neg.map(normalize);
  const p = I.length;
  let i2t = 0;
  let t2i = 0;
  for (let i = 0; i < p; i++) {
    const row: number[] = [];
    for (let j = 0; j < p; j++) if (i === j || !dup[i]![j]) row.push(s * dot(I[i]!, T[j]!));
    for (let n = 0; n < N.length; n++) if (!negHolds[i]![n]) row.push(s * dot(I[i]!, N[n]!));
    i2t += logSumExp(row) - s * dot(I[i]!, T[i]!);
    const col: number[] = [];
    for (let j = 0; j < p; j++) if (i === j || !dup[j]![i]) col.push(s * dot(I[j]!, T[i]!));
    t2i += logSumExp(col) - s * dot(I[i]!, T[i]!);
  }
  return (i2t / p + t2i / p) / 2;
}

describe('contrastive loss with extra image→text negatives', () => {
  const g = new Generator(5);
  const img = randn([6, 8], { generator: g });
  const txt = randn([6, 8], { generator: g });
  const neg = randn([4, 8], { generator: g });
  const dup = Array.from({ length: 6 }, (_, i) =>
    Array.from({ length: 6 }, (_, j) => i !== j && (i + 2 * j) % 5 === 0),
  );
  const negHolds = Array.from({ length: 6 }, (_, i) =>
    Array.from({ length: 4 }, (_, n) => (i + n) % 4 === 0),
  );

  it('equals contrastiveLoss when there are none', () => {
    const ref = contrastiveLoss(img, txt, { logitScale: tensor(2.1), duplicateMask: dup }).loss.item();
    expect(contrastiveWithNegatives(img, txt, null, tensor(2.1), dup, []).loss.item()).toBeCloseTo(ref, 5);
  });

  it('equals the twin’s formula (float64 reference) with negatives and both masks', () => {
    const got = contrastiveWithNegatives(img, txt, neg, tensor(2.1), dup, negHolds).loss.item();
    expect(got).toBeCloseTo(reference(rows(img), rows(txt), rows(neg), 2.1, dup, negHolds), 4);
    // A negative that holds is not a negative: masking every one gives the plain loss.
    const all = negHolds.map((r) => r.map(() => true));
    expect(contrastiveWithNegatives(img, txt, neg, tensor(2.1), dup, all).loss.item()).toBeCloseTo(
      contrastiveLoss(img, txt, { logitScale: tensor(2.1), duplicateMask: dup }).loss.item(),
      5,
    );
  });

  it('gradients agree with finite differences (embeddings, negatives and the scale)', () => {
    const f = (a: Tensor, b: Tensor, n: Tensor, s: Tensor) =>
      contrastiveWithNegatives(a, b, n, s, dup, negHolds).loss;
    const { grads } = valueAndGrad(f)(img, txt, neg, tensor(1.2));
    const inputs = [rows(img), rows(txt), rows(neg)];
    const eps = 1e-3;
    const at = (k: number, r: number, c: number, delta: number) => {
      const copy = inputs.map((m) => m.map((v) => [...v]));
      copy[k]![r]![c]! += delta;
      return reference(copy[0]!, copy[1]!, copy[2]!, 1.2, dup, negHolds);
    };
    for (const [k, r, c] of [
      [0, 1, 3],
      [1, 4, 0],
      [2, 2, 5],
      [2, 0, 7],
    ] as const) {
      const fd = (at(k, r, c, eps) - at(k, r, c, -eps)) / (2 * eps);
      const got = grads[k]!.dataSync()[r * 8 + c]!;
      expect(Math.abs(got - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
    }
    const fdScale =
      (reference(inputs[0]!, inputs[1]!, inputs[2]!, 1.2 + eps, dup, negHolds) -
        reference(inputs[0]!, inputs[1]!, inputs[2]!, 1.2 - eps, dup, negHolds)) /
      (2 * eps);
    expect(grads[3]!.item()).toBeCloseTo(fdScale, 3);
  });
});
