import {
  ArgumentError,
  gradCheck,
  memory,
  randn,
  ShapeError,
  scope,
  type Tensor,
  tensor,
  withAnomalyMode,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { flat, loadFixture } from '../test/load-fixture.js';
import { sigLipLoss } from './sigmoid.js';

interface SigCase {
  imageEmbeds: number[][];
  textEmbeds: number[][];
  logitScale: number;
  logitBias: number;
  loss: number;
  logits: number[][];
  gradImage: number[][];
  gradLogitScale: number;
  gradLogitBias: number;
}
const fixture = loadFixture<{ cases: SigCase[] }>('siglip.json');

describe('sigLipLoss', () => {
  // Golden values: scripts/make-fixtures.py (big_vision / OpenCLIP SigLipLoss in PyTorch, float64).
  it.each(fixture.cases.map((c, i) => [i, c] as const))('matches PyTorch, case %i', (_, c) => {
    const img = tensor(c.imageEmbeds, { requiresGrad: true });
    const logitScale = tensor(c.logitScale, { requiresGrad: true });
    const logitBias = tensor(c.logitBias, { requiresGrad: true });
    const out = sigLipLoss(img, tensor(c.textEmbeds), { logitScale, logitBias });
    expect(out.loss.item()).toBeCloseTo(c.loss, 4);
    const logits = out.logits.dataSync();
    flat(c.logits).forEach((v, i) => {
      expect(logits[i]).toBeCloseTo(v, 4);
    });
    out.loss.backward();
    const g = img.grad!.dataSync();
    flat(c.gradImage).forEach((v, i) => {
      expect(g[i]).toBeCloseTo(v, 4);
    });
    expect(logitScale.grad!.item()).toBeCloseTo(c.gradLogitScale, 4);
    expect(logitBias.grad!.item()).toBeCloseTo(c.gradLogitBias, 4);
    // Same result with plain numbers for the scale and bias.
    const plain = sigLipLoss(tensor(c.imageEmbeds), tensor(c.textEmbeds), {
      logitScale: c.logitScale,
      logitBias: c.logitBias,
    });
    expect(plain.loss.item()).toBeCloseTo(c.loss, 4);
  });

  it('labels are +1 on the diagonal and −1 elsewhere; hand-worked value at zero logits', () => {
    // Orthogonal unit embeddings with scale e^0 = 1 and bias 0: logits = identity, so
    // L = (1/2)·[2·softplus(−1) + 2·softplus(0)] = softplus(−1) + ln 2.
    const e = tensor([
      [1, 0],
      [0, 1],
    ]);
    const out = sigLipLoss(e, e, { logitScale: 0, logitBias: 0 });
    expect(out.labels.arraySync()).toEqual([
      [1, -1],
      [-1, 1],
    ]);
    expect(out.loss.item()).toBeCloseTo(Math.log1p(Math.exp(-1)) + Math.LN2, 5);
  });

  it('passes gradCheck in embeddings, scale and bias, and catches a wrong gradient', () => {
    const img = randn([3, 4], { seed: 1 });
    const txt = randn([3, 4], { seed: 2 });
    const f = (a: Tensor, b: Tensor, t: Tensor, c: Tensor) =>
      sigLipLoss(a, b, { logitScale: t, logitBias: c, checkFinite: false }).loss;
    const r = gradCheck(f, [img, txt, tensor([1]), tensor([-1])]);
    expect(r.ok, JSON.stringify(r.worst)).toBe(true);
    const wrong = (a: Tensor, b: Tensor) => sigLipLoss(a, b.detach(), { logitScale: 1, logitBias: -1 }).loss;
    expect(gradCheck(wrong, [img, txt]).ok).toBe(false);
  });

  it('does not leak tensors in a loop', () => {
    const img = randn([4, 8], { seed: 3 });
    scope(() => sigLipLoss(img, img, { logitScale: 2, logitBias: -1 }).loss.item());
    const before = memory().tensors;
    for (let i = 0; i < 5; i++)
      scope(() => sigLipLoss(img, img, { logitScale: 2, logitBias: -1 }).loss.item());
    expect(memory().tensors).toBe(before);
  });

  it('rejects bad input with typed errors', () => {
    const a = randn([3, 4], { seed: 5 });
    const opts = { logitScale: 1, logitBias: 0 };
    expect(() => sigLipLoss(a, randn([4, 4]), opts)).toThrow(ShapeError);
    expect(() => sigLipLoss(randn([0, 4]), randn([0, 4]), opts)).toThrow(/empty batch/);
    withAnomalyMode(() => {
      expect(() => sigLipLoss(tensor([[Number.NaN]]), tensor([[1]]), opts)).toThrow(ArgumentError);
      expect(() => sigLipLoss(a, a, { logitScale: 1, logitBias: tensor([Number.NaN]) })).toThrow(/NaN/);
    });
    expect(() => sigLipLoss(tensor([[Number.NaN]]), tensor([[1]]), { ...opts, checkFinite: true })).toThrow(
      /holds NaN/,
    );
    expect(() => sigLipLoss(tensor([[Number.NaN]]), tensor([[1]]), opts)).not.toThrow();
  });
});
