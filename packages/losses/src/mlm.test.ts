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
import { IGNORE_INDEX, maskTokens, mlmLoss } from './mlm.js';

const VOCAB = 1000;
const CLS = 1;
const SEP = 2;
const PAD = 0;
const MASK = 3;
const opts = { vocabSize: VOCAB, maskTokenId: MASK, specialTokenIds: [CLS, SEP], padTokenId: PAD };

/** A [64, 32] batch: [CLS] tokens… [SEP] then padding, ordinary ids in [10, VOCAB). */
function batch(): Int32Array {
  const ids = new Int32Array(64 * 32);
  for (let b = 0; b < 64; b++) {
    const len = 12 + (b % 20);
    for (let i = 0; i < 32; i++) {
      ids[b * 32 + i] =
        i === 0 ? CLS : i === len - 1 ? SEP : i >= len ? PAD : 10 + ((b * 31 + i * 17) % (VOCAB - 10));
    }
  }
  return ids;
}

describe('maskTokens', () => {
  it('selects ~15% of ordinary tokens with an 80/10/10 split, never specials or padding', () => {
    const ids = batch();
    let ordinary = 0;
    let selected = 0;
    let masked = 0;
    let random = 0;
    let kept = 0;
    let violations = 0;
    for (let draw = 0; draw < 20; draw++) {
      const { inputIds, labels } = maskTokens(ids, { ...opts, shape: [64, 32], seed: draw });
      expect(inputIds.shape).toEqual([64, 32]);
      const out = inputIds.dataSync();
      const lab = labels.dataSync();
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (id === CLS || id === SEP || id === PAD) {
          if (lab[i] !== IGNORE_INDEX || out[i] !== id) violations++;
          continue;
        }
        ordinary++;
        if (lab[i] === IGNORE_INDEX) {
          if (out[i] !== id) violations++;
          continue;
        }
        if (lab[i] !== id) violations++;
        selected++;
        if (out[i] === MASK) masked++;
        else if (out[i] === id) kept++;
        else random++;
      }
    }
    expect(violations).toBe(0);
    // ≈ 20 draws × ~1300 ordinary tokens: the binomial std of the rate is ≈ 0.002, so ±0.01 is ~5σ.
    expect(Math.abs(selected / ordinary - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(masked / selected - 0.8)).toBeLessThan(0.02);
    // "random" can land on the original id (1/VOCAB), a negligible shift.
    expect(Math.abs(random / selected - 0.1)).toBeLessThan(0.015);
    expect(Math.abs(kept / selected - 0.1)).toBeLessThan(0.015);
  });

  it('is reproducible from a seed and honours probability 0 and 1', () => {
    const ids = batch();
    const a = maskTokens(ids, { ...opts, seed: 7 }).inputIds.dataSync();
    const b = maskTokens(tensor(ids, { dtype: 'int32' }), { ...opts, seed: 7 }).inputIds.dataSync();
    expect([...a]).toEqual([...b]);
    const none = maskTokens(ids, { ...opts, probability: 0, seed: 1 }).labels.dataSync();
    expect(none.every((v) => v === IGNORE_INDEX)).toBe(true);
    const all = maskTokens(ids, { ...opts, probability: 1, seed: 1 }).labels.dataSync();
    all.forEach((v, i) => {
      const special = ids[i] === CLS || ids[i] === SEP || ids[i] === PAD;
      expect(v).toBe(special ? IGNORE_INDEX : ids[i]);
    });
  });

  it('rejects bad input with typed errors', () => {
    expect(() => maskTokens(new Int32Array([5, VOCAB]), opts)).toThrow(/outside \[0, 1000\)/);
    expect(() => maskTokens(new Int32Array([]), opts)).toThrow(ShapeError);
    expect(() => maskTokens(tensor([1.5]), opts)).toThrow(DTypeError);
    expect(() => maskTokens(new Int32Array([5]), { ...opts, probability: 1.5 })).toThrow(ArgumentError);
    expect(() => maskTokens(new Int32Array([5]), { ...opts, maskTokenId: VOCAB })).toThrow(/maskTokenId/);
    expect(() => maskTokens(new Int32Array([5, 6, 7]), { ...opts, shape: [2, 2] })).toThrow(ShapeError);
  });
});

interface CeCase {
  logits: unknown;
  labels: unknown;
  labelSmoothing: number;
  loss: number;
}
const ce = loadFixture<{ cases: CeCase[] }>('cross-entropy.json');

describe('mlmLoss', () => {
  // Golden values: scripts/make-fixtures.py (F.cross_entropy with ignore_index=-100 and label_smoothing).
  it.each(ce.cases.map((c, i) => [i, c] as const))(
    'matches PyTorch cross-entropy over masked positions, case %i',
    (_, c) => {
      const logits = tensor(c.logits as number[][]);
      const labels = tensor(c.labels as number[], { dtype: 'int32' });
      const out = mlmLoss(logits, labels, { labelSmoothing: c.labelSmoothing });
      expect(out.loss.item()).toBeCloseTo(c.loss, 4);
      expect(out.numMaskedTokens).toBe(labels.dataSync().filter((v) => v !== -100).length);
    },
  );

  it('ignores unmasked positions entirely (hand-worked) and gives 0 with nothing masked', () => {
    // Position 0 masked with label 1 over logits [0, ln 3]: −log(3/4). Position 1 ignored (huge logits).
    const logits = tensor([
      [
        [0, Math.log(3)],
        [100, -100],
      ],
    ]);
    const labels = tensor([[1, -100]], { dtype: 'int32' });
    expect(mlmLoss(logits, labels).loss.item()).toBeCloseTo(-Math.log(3 / 4), 5);
    expect(mlmLoss(logits, tensor([[-100, -100]], { dtype: 'int32' })).loss.item()).toBe(0);
  });

  it('passes gradCheck', () => {
    const labels = tensor(
      [
        [2, -100, 0],
        [-100, 4, 1],
      ],
      { dtype: 'int32' },
    );
    const f = (x: Tensor) => mlmLoss(x, labels, { labelSmoothing: 0.1, checkFinite: false }).loss;
    expect(gradCheck(f, [randn([2, 3, 5], { seed: 1 })]).ok).toBe(true);
  });

  it('rejects bad input with typed errors', () => {
    const logits = randn([2, 3, 5], { seed: 2 });
    expect(() =>
      mlmLoss(
        logits,
        tensor(
          [
            [0, 1, 5],
            [0, 0, 0],
          ],
          { dtype: 'int32' },
        ),
      ),
    ).toThrow(/label 5/);
    expect(() =>
      mlmLoss(
        logits,
        tensor(
          [
            [0, 1],
            [0, 0],
          ],
          { dtype: 'int32' },
        ),
      ),
    ).toThrow(ShapeError);
    expect(() =>
      mlmLoss(
        logits,
        tensor([
          [0, 1, 2],
          [0, 0, 0],
        ]),
      ),
    ).toThrow(DTypeError);
    expect(() => mlmLoss(randn([0, 5]), tensor(new Int32Array(0), { dtype: 'int32' }))).toThrow(
      /empty batch/,
    );
    const nan = tensor([[Number.NaN, 0]]);
    withAnomalyMode(() => expect(() => mlmLoss(nan, tensor([0], { dtype: 'int32' }))).toThrow(/holds NaN/));
    expect(() => mlmLoss(nan, tensor([0], { dtype: 'int32' }), { checkFinite: true })).toThrow(ArgumentError);
    expect(() => mlmLoss(nan, tensor([0], { dtype: 'int32' }))).not.toThrow();
  });
});
