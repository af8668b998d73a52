import { ArgumentError, ShapeError } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../../test/load-fixture.js';
import { retrievalMetrics } from './retrieval.js';

describe('retrievalMetrics', () => {
  // 3 images × 6 captions, captions (0,1)→image 0, (2,3)→image 1, (4,5)→image 2. Ranks worked by hand.
  const sim = [
    [0.9, 0.1, 0.5, 0.95, 0.2, 0.3], // best own caption 0.9; 0.95 beats it → rank 2
    [0.4, 0.4, 0.4, 0.1, 0.4, 0.4], // best own 0.4 (caption 2); ties 0, 1 come first → rank 3
    [0.8, 0.7, 0.6, 0.5, 0.4, 0.2], // best own 0.4; 0.8, 0.7, 0.6, 0.5 beat it → rank 5
  ];
  const textToImage = [0, 0, 1, 1, 2, 2];

  it('ranks image→text by the best of an image’s captions, ties in index order', () => {
    const { imageToText } = retrievalMetrics(sim, textToImage);
    expect([...imageToText.ranks]).toEqual([2, 3, 5]);
    expect(imageToText.r1).toBe(0);
    expect(imageToText.r5).toBe(100);
    expect(imageToText.r10).toBe(100);
    expect(imageToText.medianRank).toBe(3);
    expect(imageToText.meanRank).toBeCloseTo(10 / 3, 10);
    // Pessimistic: image 1's own 0.4 is tied with captions 0, 1, 4, 5 → rank 5.
    expect([...retrievalMetrics(sim, textToImage, { ties: 'pessimistic' }).imageToText.ranks]).toEqual([
      2, 5, 5,
    ]);
  });

  it('ranks text→image per caption, ties in index order', () => {
    // Columns: c0 [.9,.4,.8]→1; c1 [.1,.4,.7]→3; c2 [.5,.4,.6]→3; c3 [.95,.1,.5]→3;
    // c4 [.2,.4,.4]: own image 2 tied with image 1, which comes first → 2; c5 [.3,.4,.2]→3.
    const { textToImage: t2i } = retrievalMetrics(sim, textToImage);
    expect([...t2i.ranks]).toEqual([1, 3, 3, 3, 2, 3]);
    expect(t2i.r1).toBeCloseTo(100 / 6, 10);
    expect(t2i.r5).toBe(100);
    expect(t2i.medianRank).toBe(3); // sorted [1,2,3,3,3,3] → (3+3)/2
    expect(t2i.meanRank).toBeCloseTo(15 / 6, 10);
  });

  it('never rewards a collapsed model: a constant 10×10 matrix gives R@1/5/10 = 10/50/100', () => {
    const zeros = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    const ids = Array.from({ length: 10 }, (_, i) => i);
    const m = retrievalMetrics(zeros, ids);
    for (const d of [m.imageToText, m.textToImage]) {
      expect([d.r1, d.r5, d.r10]).toEqual([10, 50, 100]);
      expect([...d.ranks]).toEqual(ids.map((i) => i + 1));
    }
    expect(m.rSum).toBe(320);
    const p = retrievalMetrics(zeros, ids, { ties: 'pessimistic' });
    for (const d of [p.imageToText, p.textToImage]) expect([d.r1, d.r5, d.r10]).toEqual([0, 0, 100]);
  });

  it('matches an independent PyTorch/numpy ranking on matrices full of ties, for both rules', () => {
    // Golden values: scripts/make-retrieval-ties-fixtures.py (stable descending torch.argsort as in
    // OpenCLIP get_clip_metrics / VSE++; numpy counts for the pessimistic rule).
    interface Stats {
      r1: number;
      r5: number;
      r10: number;
      medianRank: number;
      meanRank: number;
    }
    interface Rule {
      imageToTextRanks: number[];
      textToImageRanks: number[];
      imageToText: Stats;
      textToImage: Stats;
    }
    const f = loadFixture<{
      cases: {
        name: string;
        similarity: number[][];
        captionImage: number[];
        index: Rule;
        pessimistic: Rule;
      }[];
    }>('retrieval-ties.json');
    expect(f.cases.length).toBeGreaterThanOrEqual(6);
    for (const c of f.cases) {
      for (const ties of ['index', 'pessimistic'] as const) {
        const m = retrievalMetrics(c.similarity, c.captionImage, { ties });
        const want = c[ties];
        expect([...m.imageToText.ranks], `${c.name} ${ties}`).toEqual(want.imageToTextRanks);
        expect([...m.textToImage.ranks], `${c.name} ${ties}`).toEqual(want.textToImageRanks);
        for (const [got, exp] of [
          [m.imageToText, want.imageToText],
          [m.textToImage, want.textToImage],
        ] as const) {
          expect(got.r1).toBeCloseTo(exp.r1, 10);
          expect(got.r5).toBeCloseTo(exp.r5, 10);
          expect(got.r10).toBeCloseTo(exp.r10, 10);
          expect(got.medianRank).toBe(exp.medianRank);
          expect(got.meanRank).toBeCloseTo(exp.meanRank, 10);
        }
      }
    }
  });

  it('computes R@10, median (floored, VSE++) and rSum on a 12×12 staircase; flat input works too', () => {
    // sim[i][j] = 1 for j < i, 0.5 on the diagonal, 0 above: image i ranks its caption i+1-th,
    // caption t ranks its image (12 − t)-th.
    const n = 12;
    const data = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = j < i ? 1 : j === i ? 0.5 : 0;
    const m = retrievalMetrics(
      { data, shape: [n, n] },
      Array.from({ length: n }, (_, i) => i),
    );
    expect([...m.imageToText.ranks]).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect([...m.textToImage.ranks]).toEqual(Array.from({ length: n }, (_, i) => n - i));
    for (const d of [m.imageToText, m.textToImage]) {
      expect(d.r1).toBeCloseTo(100 / 12, 10);
      expect(d.r5).toBeCloseTo(500 / 12, 10);
      expect(d.r10).toBeCloseTo(1000 / 12, 10);
      expect(d.medianRank).toBe(6); // median of 1..12 is 6.5 → floor → 6
      expect(d.meanRank).toBe(6.5);
    }
    expect(m.rSum).toBeCloseTo(3200 / 12, 10);
    expect(m.meanRecall).toBeCloseTo(3200 / 72, 10);
  });

  it('matches a VSE++-style argsort evaluation (20 images × 5 captions, no ties)', () => {
    // Golden values: scripts/make-fixtures.py (argsort ranks as in VSE++'s i2t/t2i, floor-median).
    interface Stats {
      r1: number;
      r5: number;
      r10: number;
      medianRank: number;
      meanRank: number;
    }
    const f = loadFixture<{
      similarity: number[][];
      captionImage: number[];
      imageToTextRanks: number[];
      textToImageRanks: number[];
      imageToText: Stats;
      textToImage: Stats;
    }>('retrieval.json');
    const m = retrievalMetrics(f.similarity, f.captionImage);
    expect([...m.imageToText.ranks]).toEqual(f.imageToTextRanks);
    expect([...m.textToImage.ranks]).toEqual(f.textToImageRanks);
    for (const [got, want] of [
      [m.imageToText, f.imageToText],
      [m.textToImage, f.textToImage],
    ] as const) {
      expect(got.r1).toBeCloseTo(want.r1, 10);
      expect(got.r5).toBeCloseTo(want.r5, 10);
      expect(got.r10).toBeCloseTo(want.r10, 10);
      expect(got.medianRank).toBe(want.medianRank);
      expect(got.meanRank).toBeCloseTo(want.meanRank, 10);
    }
  });

  it('rejects bad input with typed errors', () => {
    expect(() => retrievalMetrics([], [])).toThrow(ShapeError);
    expect(() => retrievalMetrics([[1, 2]], [0])).toThrow(/textToImage has 1 entries for 2 texts/);
    expect(() => retrievalMetrics([[1, 2], [3]], [0, 1])).toThrow(ShapeError);
    expect(() => retrievalMetrics([[1, Number.NaN]], [0, 0])).toThrow(/NaN/);
    expect(() => retrievalMetrics([[1, 2]], [0, 1])).toThrow(ArgumentError);
    expect(() =>
      retrievalMetrics(
        [
          [1, 2],
          [3, 4],
        ],
        [0, 0],
      ),
    ).toThrow(/image 1 has no caption/);
    expect(() => retrievalMetrics({ data: new Float32Array(3), shape: [2, 2] }, [0, 1])).toThrow(ShapeError);
    expect(() => retrievalMetrics([[1]], [0], { ties: 'optimistic' as 'index' })).toThrow(/ties must be/);
  });
});
