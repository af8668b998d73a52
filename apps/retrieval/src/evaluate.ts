import { withEval } from '@polymodal/app-kit';
import { type DirectionMetrics, type RetrievalMetrics, retrievalMetrics } from '@polymodal/losses';
import { Generator } from '@polymodal/tensor';
import { captionHolds, type RetrievalImage } from './data.js';
import { disposeSequences, embedImages, embedTokenized, itmScores, sequencesOf } from './embed.js';
import type { RetrievalModel } from './model.js';

/** Recall@K and ranks of one direction, without the per-query ranks. */
export type DirectionSummary = Omit<DirectionMetrics, 'ranks'>;

export interface MetricsSummary {
  imageToText: DirectionSummary;
  textToImage: DirectionSummary;
  rSum: number;
}

export interface EvalReport {
  images: number;
  captions: number;
  /** Image–caption pairs left out of the negatives because the caption is also true of that image. */
  alsoTruePairs: number;
  /** The dual encoder's cosine similarities alone. */
  itc: MetricsSummary;
  /** The top `rerankK` of each query re-ordered by the ITM head (null with `rerankK` 0). */
  rerank: MetricsSummary | null;
  rerankK: number;
  /** A random ranking through the same metric code (mean of 5 seeds). */
  random: MetricsSummary;
  /** text→image R@1 per kind of the caption's image (original, subject, object, relation), ITC / re-ranked. */
  perKind: Record<string, { captions: number; itcR1: number; rerankR1: number | null }>;
  seconds: number;
}

const summary = (m: RetrievalMetrics): MetricsSummary => {
  const strip = ({ ranks: _ranks, ...rest }: DirectionMetrics) => rest;
  return { imageToText: strip(m.imageToText), textToImage: strip(m.textToImage), rSum: m.rSum };
};

/**
 * Retrieval evaluation: every image and caption embedded, cosine similarities scored with
 * `retrievalMetrics` (Recall@1/5/10 both ways, rSum, median and mean rank; an image's rank is
 * its best caption's). A caption that is also true of another image (the generator records this
 * as `holds_for`) is not a negative of that image: the pair is left out (−∞), as ECCV Caption
 * (Chun et al. 2022) does for COCO's false negatives. With `rerankK` > 0 the top k of every query
 * are re-ordered by the ITM head's match score (ALBEF's re-ranking), the rest keep their order.
 * A random ranking goes through the same code for scale.
 *
 * ```ts
 * const report = evaluateRetrieval(model, testImages, { rerankK: 16 });
 * report.itc.textToImage.r1; report.rerank?.textToImage.r1;
 * ```
 */
export function evaluateRetrieval(
  model: RetrievalModel,
  images: readonly RetrievalImage[],
  options: { rerankK?: number; batchSize?: number } = {},
): EvalReport {
  const started = performance.now();
  const k = options.rerankK ?? 16;
  const bs = options.batchSize ?? 256;
  const captions = images.flatMap((im, i) => im.captions.map((c) => ({ c, image: i, own: im.imageId })));
  const textToImage = captions.map((x) => x.image);
  const nI = images.length;
  const nT = captions.length;
  return withEval(model, () => {
    const imageVectors: Float32Array[] = [];
    for (let i = 0; i < nI; i += bs) {
      imageVectors.push(
        ...embedImages(
          model,
          images.slice(i, i + bs).map((im) => im.pixels),
        ),
      );
    }
    const textVectors: Float32Array[] = [];
    for (let t = 0; t < nT; t += bs) {
      textVectors.push(
        ...embedTokenized(
          model,
          captions.slice(t, t + bs).map((x) => x.c.inputIds),
        ),
      );
    }
    const sim = new Float64Array(nI * nT);
    let alsoTrue = 0;
    for (let i = 0; i < nI; i++) {
      const a = imageVectors[i]!;
      for (let t = 0; t < nT; t++) {
        const x = captions[t]!;
        if (x.image !== i && captionHolds(x.c, x.own, images[i]!.imageId)) {
          sim[i * nT + t] = Number.NEGATIVE_INFINITY;
          alsoTrue++;
          continue;
        }
        const b = textVectors[t]!;
        let s = 0;
        for (let d = 0; d < a.length; d++) s += a[d]! * b[d]!;
        sim[i * nT + t] = s;
      }
    }
    const shape = [nI, nT] as [number, number];
    const itc = retrievalMetrics({ data: sim, shape }, textToImage);

    let rerank: RetrievalMetrics | null = null;
    if (k > 0) {
      const seq = sequencesOf(
        model,
        images.map((im) => im.pixels),
        captions.map((x) => x.c.inputIds),
      );
      try {
        // text→image: each caption's top k images, re-ordered by ITM above everything else.
        const t2i = Float64Array.from(sim);
        const pairs: [number, number][] = [];
        for (let t = 0; t < nT; t++)
          for (const i of topIndices(sim, t, nT, nI, k, 'column')) pairs.push([i, t]);
        let scores = itmScores(model, seq, pairs);
        pairs.forEach(([i, t], n) => {
          t2i[i * nT + t] = 1e6 + scores[n]!;
        });
        // image→text: each image's top k captions.
        const i2t = Float64Array.from(sim);
        const pairs2: [number, number][] = [];
        for (let i = 0; i < nI; i++)
          for (const t of topIndices(sim, i, nT, nI, k, 'row')) pairs2.push([i, t]);
        scores = itmScores(model, seq, pairs2);
        pairs2.forEach(([i, t], n) => {
          i2t[i * nT + t] = 1e6 + scores[n]!;
        });
        const a = retrievalMetrics({ data: t2i, shape }, textToImage);
        const b = retrievalMetrics({ data: i2t, shape }, textToImage);
        const rSum = [b.imageToText, a.textToImage]
          .flatMap((d) => [d.r1, d.r5, d.r10])
          .reduce((x, y) => x + y, 0);
        rerank = { imageToText: b.imageToText, textToImage: a.textToImage, meanRecall: rSum / 6, rSum };
      } finally {
        disposeSequences(seq);
      }
    }

    const random = randomBaseline(sim, shape, textToImage);
    const perKind: EvalReport['perKind'] = {};
    captions.forEach((x, t) => {
      const kind = images[x.image]!.kind;
      const e = (perKind[kind] ??= { captions: 0, itcR1: 0, rerankR1: rerank ? 0 : null });
      e.captions++;
      if (itc.textToImage.ranks[t] === 1) e.itcR1++;
      if (rerank && rerank.textToImage.ranks[t] === 1) e.rerankR1! += 1;
    });
    for (const e of Object.values(perKind)) {
      e.itcR1 = (100 * e.itcR1) / e.captions;
      if (e.rerankR1 !== null) e.rerankR1 = (100 * e.rerankR1) / e.captions;
    }
    return {
      images: nI,
      captions: nT,
      alsoTruePairs: alsoTrue,
      itc: summary(itc),
      rerank: rerank ? summary(rerank) : null,
      rerankK: k,
      random,
      perKind,
      seconds: (performance.now() - started) / 1000,
    };
  });
}

/** The `k` best entries of one row (an image's captions) or column (a caption's images), −∞ skipped. */
function topIndices(
  sim: Float64Array,
  at: number,
  nT: number,
  nI: number,
  k: number,
  along: 'row' | 'column',
): number[] {
  const n = along === 'row' ? nT : nI;
  const value = (j: number) => (along === 'row' ? sim[at * nT + j]! : sim[j * nT + at]!);
  const idx: number[] = [];
  for (let j = 0; j < n; j++) if (value(j) > Number.NEGATIVE_INFINITY) idx.push(j);
  idx.sort((x, y) => value(y) - value(x) || x - y);
  return idx.slice(0, k);
}

/** Uniform random similarities (the same −∞ entries kept), averaged over 5 seeds. */
function randomBaseline(sim: Float64Array, shape: [number, number], textToImage: number[]): MetricsSummary {
  const runs: MetricsSummary[] = [];
  for (let seed = 0; seed < 5; seed++) {
    const g = new Generator(seed);
    const r = Float64Array.from(sim, (v) => (v === Number.NEGATIVE_INFINITY ? v : g.uniform()));
    runs.push(summary(retrievalMetrics({ data: r, shape }, textToImage)));
  }
  const mean = (f: (m: MetricsSummary) => number) => runs.reduce((s, m) => s + f(m), 0) / runs.length;
  const dir = (d: 'imageToText' | 'textToImage'): DirectionSummary => ({
    r1: mean((m) => m[d].r1),
    r5: mean((m) => m[d].r5),
    r10: mean((m) => m[d].r10),
    medianRank: mean((m) => m[d].medianRank),
    meanRank: mean((m) => m[d].meanRank),
  });
  return { imageToText: dir('imageToText'), textToImage: dir('textToImage'), rSum: mean((m) => m.rSum) };
}

/** The report as the CLI prints it. */
export function formatEvalReport(r: EvalReport): string {
  const f = (v: number) => v.toFixed(1).padStart(5);
  const line = (name: string, m: MetricsSummary) =>
    [
      `  ${name.padEnd(22)} t→i R@1 ${f(m.textToImage.r1)} R@5 ${f(m.textToImage.r5)} R@10 ${f(m.textToImage.r10)}`,
      `   i→t R@1 ${f(m.imageToText.r1)} R@5 ${f(m.imageToText.r5)} R@10 ${f(m.imageToText.r10)}`,
      `   rSum ${m.rSum.toFixed(1).padStart(5)}  median rank t→i ${m.textToImage.medianRank} i→t ${m.imageToText.medianRank}`,
    ].join('');
  const out = [
    `Recall@K (%) on ${r.images} images and ${r.captions} captions (${r.alsoTruePairs} pairs where a caption is also true of another image left out of the negatives):`,
    line('dual encoder (ITC)', r.itc),
  ];
  if (r.rerank) out.push(line(`+ ITM re-rank top ${r.rerankK}`, r.rerank));
  out.push(line('random ranking', r.random));
  const kinds = Object.entries(r.perKind);
  if (kinds.length > 1) {
    out.push(
      `  text→image R@1 by the kind of image the caption describes: ${kinds
        .map(
          ([k, v]) => `${k} ${v.itcR1.toFixed(1)}${v.rerankR1 !== null ? `→${v.rerankR1.toFixed(1)}` : ''}`,
        )
        .join(', ')}`,
    );
  }
  return out.join('\n');
}
