import {
  ArgumentError,
  DTypeError,
  gradCheck,
  randn,
  ShapeError,
  type Tensor,
  tensor,
  withAnomalyMode,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../test/load-fixture.js';
import { answerCrossEntropyLoss, vqaLoss, vqaSoftScores } from './vqa.js';

const answers = ['2', 'two', '2', '3', '3', 'Three', 'red', 'blue', 'blue', '1'];
const vocab = ['1', '2', '3', 'blue', 'green'];

describe('vqaSoftScores', () => {
  it('scores min(1, count/3) after the official normalisation (hand-counted)', () => {
    // '2' ×3 (incl. "two"), '3' ×3 (incl. "Three"), 'blue' ×2, '1' ×1, 'red' not in the vocabulary.
    const s = vqaSoftScores(answers, vocab);
    expect([...s].map((v) => Number(v.toFixed(6)))).toEqual([0.333333, 1, 1, 0.666667, 0]);
  });
  it('offers the leave-one-out table 0.3/0.6/0.9/1.0 (MMF, ViLT) and accepts a Map vocabulary', () => {
    const s = vqaSoftScores(answers, new Map(vocab.map((a, i) => [a, i])), { scoring: 'leaveOneOut' });
    expect([...s].map((v) => Number(v.toFixed(6)))).toEqual([0.3, 0.9, 0.9, 0.6, 0]);
    const four = vqaSoftScores([...Array(4).fill('x'), ...Array(6).fill('y')], ['x'], {
      scoring: 'leaveOneOut',
    });
    expect(four[0]).toBe(1);
  });
  it('rejects bad input', () => {
    expect(() => vqaSoftScores([], vocab)).toThrow(ArgumentError);
    expect(() => vqaSoftScores(['a'], vocab, { scoring: 'x' as 'count' })).toThrow(/scoring/);
    expect(() => vqaSoftScores(['1'], new Map([['1', 9]]))).toThrow(/outside/);
  });
});

const bce = loadFixture<{ cases: { logits: number[][]; targets: number[][]; loss: number }[] }>('bce.json');
const ce = loadFixture<{
  cases: { logits: unknown; labels: unknown; labelSmoothing: number; loss: number }[];
}>('cross-entropy.json');

describe('vqaLoss', () => {
  // Golden values: scripts/make-fixtures.py (F.binary_cross_entropy_with_logits(...) * num_answers, ViLT/MMF).
  it.each(bce.cases.map((c, i) => [i, c] as const))(
    'matches PyTorch BCE-with-logits × numAnswers, case %i',
    (_, c) => {
      expect(vqaLoss(tensor(c.logits), tensor(c.targets)).loss.item()).toBeCloseTo(c.loss, 4);
    },
  );
  it('passes gradCheck', () => {
    const targets = tensor([
      [0, 1 / 3, 1],
      [2 / 3, 0, 0],
    ]);
    const f = (x: Tensor) => vqaLoss(x, targets).loss.div(3);
    expect(gradCheck(f, [randn([2, 3], { seed: 1 })]).ok).toBe(true);
  });
  it('rejects bad input with typed errors', () => {
    expect(() => vqaLoss(randn([2, 3]), randn([2, 4]))).toThrow(ShapeError);
    expect(() =>
      vqaLoss(
        randn([2, 3]),
        tensor([
          [0, 0, 2],
          [0, 0, 0],
        ]),
      ),
    ).toThrow(/\[0, 1\]/);
    expect(() => vqaLoss(randn([0, 3]), randn([0, 3]))).toThrow(/empty/);
    withAnomalyMode(() => expect(() => vqaLoss(tensor([[Number.NaN]]), tensor([[1]]))).toThrow(/holds NaN/));
    expect(() => vqaLoss(tensor([[Number.NaN]]), tensor([[1]]), { checkFinite: true })).toThrow(
      ArgumentError,
    );
    expect(() => vqaLoss(randn([1, 2]), tensor([[1, 0]], { dtype: 'int32' }))).toThrow(DTypeError);
  });
});

describe('answerCrossEntropyLoss', () => {
  // Golden values: the 2-D cases of fixtures/cross-entropy.json (F.cross_entropy, label smoothing, ignore_index).
  const twoD = ce.cases.filter((c) => Array.isArray(c.labels) && !Array.isArray((c.labels as unknown[])[0]));
  it.each(twoD.map((c, i) => [i, c] as const))('matches PyTorch cross-entropy, case %i', (_, c) => {
    const out = answerCrossEntropyLoss(
      tensor(c.logits as number[][]),
      tensor(c.labels as number[], { dtype: 'int32' }),
      {
        labelSmoothing: c.labelSmoothing,
      },
    );
    expect(out.loss.item()).toBeCloseTo(c.loss, 4);
  });
  it('passes gradCheck', () => {
    const labels = tensor([0, 2], { dtype: 'int32' });
    expect(
      gradCheck(
        (x: Tensor) => answerCrossEntropyLoss(x, labels, { labelSmoothing: 0.1 }).loss,
        [randn([2, 4], { seed: 2 })],
      ).ok,
    ).toBe(true);
  });
  it('rejects labels out of range and mismatched batches', () => {
    expect(() => answerCrossEntropyLoss(randn([2, 3]), tensor([0, 3], { dtype: 'int32' }))).toThrow(
      /label 3/,
    );
    expect(() => answerCrossEntropyLoss(randn([2, 3]), tensor([0], { dtype: 'int32' }))).toThrow(ShapeError);
  });
});
