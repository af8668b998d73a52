import { ArgumentError, crossEntropy, IGNORE_INDEX, randn, type Tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { collate } from './collate.js';

const rows = (t: unknown) => (t as Tensor).arraySync() as number[][];

describe('collate padding', () => {
  const samples = [
    { inputIds: [2, 7, 8, 3], labels: [-100, 7, -100, -100], tokenTypeIds: [0, 0, 1, 1] },
    { inputIds: [2, 9, 3], labels: [-100, -100, 9], tokenTypeIds: [0, 1, 1] },
    { inputIds: [2, 3], labels: [5, -100], tokenTypeIds: [1, 1] },
  ];

  it('pads inputIds with padId, labels with −100 and other fields with 0', () => {
    const batch = collate(samples, { padId: 1 });
    expect(rows(batch.inputIds)).toEqual([
      [2, 7, 8, 3],
      [2, 9, 3, 1],
      [2, 3, 1, 1],
    ]);
    expect(rows(batch.labels)).toEqual([
      [-100, 7, -100, -100],
      [-100, -100, 9, -100],
      [5, -100, -100, -100],
    ]);
    expect(rows(batch.tokenTypeIds)).toEqual([
      [0, 0, 1, 1],
      [0, 1, 1, 0],
      [1, 1, 0, 0],
    ]);
    // The attention mask is bool, true = real token (Polymodal's and Hugging Face's convention).
    expect((batch.attentionMask as Tensor).dtype).toBe('bool');
    expect(Array.from((batch.attentionMask as Tensor).dataSync())).toEqual([
      1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0,
    ]);
    expect(IGNORE_INDEX).toBe(-100);
  });

  it('makes a given attentionMask field bool too, padded with false, and refuses values other than 1/0', () => {
    const batch = collate([
      { inputIds: [2, 3], attentionMask: [1, 0] },
      { inputIds: [2, 7, 3], attentionMask: [1, 1, 1] },
    ]);
    expect((batch.attentionMask as Tensor).dtype).toBe('bool');
    expect(Array.from((batch.attentionMask as Tensor).dataSync())).toEqual([1, 0, 0, 1, 1, 1]);
    expect(() => collate([{ inputIds: [2], attentionMask: [2] }])).toThrow(
      /attentionMask\[0\]\[0\] is 2; a mask holds 1/,
    );
  });

  it('takes a fill value per field from padValues', () => {
    const batch = collate(
      samples.map(({ labels, tokenTypeIds }) => ({ mlmLabels: labels, tokenTypeIds })),
      { padValues: { mlmLabels: IGNORE_INDEX, tokenTypeIds: 7 } },
    );
    expect(rows(batch.mlmLabels)[2]).toEqual([5, -100, -100, -100]);
    expect(rows(batch.tokenTypeIds)[2]).toEqual([1, 1, 7, 7]);
    expect(rows(collate(samples, { padValues: { labels: 0 } }).labels)[2]).toEqual([5, -100, 0, 0]);
    expect(() => collate(samples, { padValues: { labels: 0.5 } })).toThrow(ArgumentError);
    expect(() => collate(samples, { padValues: { labels: 0.5 } })).toThrow(/padValues.labels/);
  });

  it('keeps padding out of an MLM loss: the batch loss equals the mean over the real labels', () => {
    const vocab = 11;
    const batch = collate(samples, { padId: 1 });
    const [n, l] = (batch.labels as Tensor).shape as [number, number];
    const logits = randn([n * l, vocab], { seed: 4 });
    const loss = crossEntropy(logits, (batch.labels as Tensor).reshape([n * l])).item();
    // Independent: the per-token loss of the three real labels, by hand from the logits.
    const z = logits.arraySync() as number[][];
    const real = rows(batch.labels)
      .flatMap((r, i) => r.map((label, j) => ({ label, row: z[i * l + j]! })))
      .filter((e) => e.label !== IGNORE_INDEX);
    expect(real.length).toBe(3);
    const nll = real.map(({ label, row }) => {
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      return lse - row[label]!;
    });
    expect(loss).toBeCloseTo(nll.reduce((a, b) => a + b, 0) / nll.length, 5);
    // Padded with 0 (the old behaviour), padding would count as token 0 and change the loss.
    const zeroPadded = collate(samples, { padId: 1, padValues: { labels: 0 } }).labels as Tensor;
    const wrong = crossEntropy(logits, zeroPadded.reshape([n * l])).item();
    expect(Math.abs(wrong - loss)).toBeGreaterThan(1e-3);
    for (const t of [logits, zeroPadded, ...Object.values(batch).filter((v) => !Array.isArray(v))])
      (t as Tensor).dispose();
  });

  it('leaves equal-length label lists as they are (int32)', () => {
    const batch = collate([{ labels: [1, 2] }, { labels: [3, 4] }]);
    expect(rows(batch.labels)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect((batch.labels as Tensor).dtype).toBe('int32');
  });
});
