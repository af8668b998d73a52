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
import { contrastiveLoss, l2Normalize, MAX_LOG_LOGIT_SCALE } from './contrastive.js';

interface ClipCase {
  imageEmbeds: number[][];
  textEmbeds: number[][];
  logitScale: number;
  labelSmoothing: number;
  loss: number;
  logitsPerImage: number[][];
  gradImage: number[][];
  gradText: number[][];
  gradLogitScale: number;
}
interface DupCase {
  imageEmbeds: number[][];
  textEmbeds: number[][];
  logitScale: number;
  labelSmoothing: number;
  duplicateMask: boolean[][];
  loss: number;
}
const fixture = loadFixture<{ cases: ClipCase[]; duplicateCases: DupCase[] }>('clip.json');

function expectClose(actual: ArrayLike<number>, expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(tol);
}

describe('contrastiveLoss', () => {
  // Golden values: scripts/make-fixtures.py (OpenCLIP ClipLoss in PyTorch, float64).
  it.each(fixture.cases.map((c, i) => [i, c] as const))('matches PyTorch, case %i', (_, c) => {
    const img = tensor(c.imageEmbeds, { requiresGrad: true });
    const txt = tensor(c.textEmbeds, { requiresGrad: true });
    const logitScale = tensor(c.logitScale, { requiresGrad: true });
    const out = contrastiveLoss(img, txt, { logitScale, labelSmoothing: c.labelSmoothing });
    expect(out.loss.item()).toBeCloseTo(c.loss, 4);
    expectClose(out.logitsPerImage.dataSync(), flat(c.logitsPerImage), 2e-3);
    expectClose(out.logitsPerText.dataSync(), flat(transpose2d(c.logitsPerImage)), 2e-3);
    expect([...out.targets.dataSync()]).toEqual(c.imageEmbeds.map((_, i) => i));
    out.loss.backward();
    expectClose(img.grad!.dataSync(), flat(c.gradImage), 1e-4);
    expectClose(txt.grad!.dataSync(), flat(c.gradText), 1e-4);
    expect(logitScale.grad!.item()).toBeCloseTo(c.gradLogitScale, 4);
  });

  it('clamps the log scale to ln 100 (the gradient stops there)', () => {
    const c = fixture.cases.find((k) => k.logitScale > MAX_LOG_LOGIT_SCALE)!;
    const out = contrastiveLoss(tensor(c.imageEmbeds), tensor(c.textEmbeds), { logitScale: c.logitScale });
    expect(out.scale.item()).toBeCloseTo(100, 3);
    expect(c.gradLogitScale).toBe(0);
  });

  // Golden values: scripts/make-fixtures.py, where excluded columns are deleted from each row's softmax.
  it.each(fixture.duplicateCases.map((c, i) => [i, c] as const))(
    'excludes duplicate pairs from the negatives, case %i',
    (_, c) => {
      const out = contrastiveLoss(tensor(c.imageEmbeds), tensor(c.textEmbeds), {
        logitScale: c.logitScale,
        labelSmoothing: c.labelSmoothing,
        duplicateMask: c.duplicateMask,
      });
      expect(out.loss.item()).toBeCloseTo(c.loss, 4);
      const asTensor = contrastiveLoss(tensor(c.imageEmbeds), tensor(c.textEmbeds), {
        logitScale: c.logitScale,
        labelSmoothing: c.labelSmoothing,
        duplicateMask: tensor(c.duplicateMask),
      });
      expect(asTensor.loss.item()).toBeCloseTo(c.loss, 4);
      const without = contrastiveLoss(tensor(c.imageEmbeds), tensor(c.textEmbeds), {
        logitScale: c.logitScale,
      });
      expect(Math.abs(without.loss.item() - c.loss)).toBeGreaterThan(1e-3);
    },
  );

  it('gives ln N for identical embeddings at scale 1 (hand-worked: uniform softmax)', () => {
    const e = tensor([
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
    expect(contrastiveLoss(e, e, { logitScale: 0 }).loss.item()).toBeCloseTo(Math.log(3), 5);
  });

  it('passes gradCheck in embeddings and scale, and gradCheck catches a wrong gradient', () => {
    const img = randn([3, 4], { seed: 1 });
    const txt = randn([3, 4], { seed: 2 });
    const s = tensor([1.2]);
    const f = (a: Tensor, b: Tensor, t: Tensor) =>
      contrastiveLoss(a, b, { logitScale: t, labelSmoothing: 0.1, checkFinite: false }).loss;
    const r = gradCheck(f, [img, txt, s]);
    expect(r.ok, JSON.stringify(r.worst)).toBe(true);
    const mask = [
      [false, true, false],
      [false, false, false],
      [false, false, false],
    ];
    const g = (a: Tensor, b: Tensor) =>
      contrastiveLoss(a, b, { logitScale: 1, duplicateMask: mask, checkFinite: false }).loss;
    expect(gradCheck(g, [img, txt]).ok).toBe(true);
    // Detaching the image side makes autograd's gradient 0 there, which gradCheck must reject.
    const wrong = (a: Tensor, b: Tensor) =>
      contrastiveLoss(a.detach(), b, { logitScale: 1, checkFinite: false }).loss;
    expect(gradCheck(wrong, [img, txt]).ok).toBe(false);
  });

  it('does not leak tensors when called in a loop', () => {
    const img = randn([4, 8], { seed: 3 });
    const txt = randn([4, 8], { seed: 4 });
    const logitScale = tensor(2.0, { requiresGrad: true });
    scope(() => contrastiveLoss(img, txt, { logitScale }).loss.item());
    const before = memory().tensors;
    for (let i = 0; i < 5; i++)
      scope(() =>
        contrastiveLoss(img, txt, {
          logitScale,
          duplicateMask: tensor([
            [false, true, false, false],
            [false, false, false, false],
            [false, false, false, false],
            [false, false, false, false],
          ]),
        }).loss.item(),
      );
    expect(memory().tensors).toBe(before);
  });

  it('rejects bad input with typed errors', () => {
    const a = randn([3, 4], { seed: 5 });
    expect(() => contrastiveLoss(a, randn([2, 4]))).toThrow(ShapeError);
    expect(() => contrastiveLoss(a, randn([3, 5]))).toThrow(/same N and D/);
    expect(() => contrastiveLoss(randn([0, 4]), randn([0, 4]))).toThrow(/empty batch/);
    expect(() => contrastiveLoss(randn([3]), randn([3]))).toThrow(ShapeError);
    // NaN embeddings: caught in anomaly mode or when asked (a read back); a training step skips it.
    const nan = tensor([[Number.NaN, 1]]);
    withAnomalyMode(() => expect(() => contrastiveLoss(nan, tensor([[1, 1]]))).toThrow(/holds NaN/));
    expect(() => contrastiveLoss(nan, tensor([[1, 1]]), { checkFinite: true })).toThrow(ArgumentError);
    expect(Number.isNaN(contrastiveLoss(nan, tensor([[1, 1]])).loss.item())).toBe(true);
    expect(() => contrastiveLoss(a, a, { logitScale: tensor([1, 2]) })).toThrow(/one value/);
    expect(() => contrastiveLoss(a, a, { logitScale: Number.NaN })).toThrow(ArgumentError);
    expect(() => contrastiveLoss(a, a, { labelSmoothing: 2 })).toThrow(/labelSmoothing/);
    expect(() => contrastiveLoss(a, a, { duplicateMask: [[true]] })).toThrow(ShapeError);
  });
});

describe('l2Normalize', () => {
  it('gives unit rows and keeps zero rows at zero', () => {
    expect(
      l2Normalize(
        tensor([
          [3, 4],
          [0, 0],
        ]),
      ).arraySync(),
    ).toEqual(
      [
        [0.6, 0.8],
        [0, 0],
      ].map((r) => r.map((v) => Math.fround(v))),
    );
  });
});

function transpose2d(m: number[][]): number[][] {
  return m[0]!.map((_, j) => m.map((row) => row[j]!));
}
