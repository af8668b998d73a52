import { ArgumentError, ShapeError } from '@polymodal/tensor';

/** A similarity matrix `[numImages, numTexts]`: nested rows, or flat row-major values with a shape. */
export type SimilarityMatrix =
  | readonly (readonly number[])[]
  | { data: ArrayLike<number>; shape: readonly [number, number] };

/** Recall@K (in percent, 0–100) and rank statistics for one direction. */
export interface DirectionMetrics {
  r1: number;
  r5: number;
  r10: number;
  /** `floor(median)` of the 1-based ranks, as VSE++ reports it (`floor(median(rank0)) + 1`). */
  medianRank: number;
  /** Mean of the 1-based ranks. */
  meanRank: number;
  /** The 1-based rank of each query (an image for image→text, a caption for text→image). */
  ranks: Int32Array;
}

/**
 * How a candidate that scores exactly as much as the ground truth is ranked:
 * - `'index'` (default): ties keep index order, as a stable descending sort
 *   (`torch.argsort(s, descending=True, stable=True)`) ranks them — the ranking of OpenCLIP's
 *   `get_clip_metrics`, VSE++'s `i2t`/`t2i` and LAION CLIP_benchmark, whose sorts differ only in
 *   how they order ties (see {@link retrievalMetrics});
 * - `'pessimistic'`: every tied wrong candidate ranks above the ground truth (a lower bound).
 */
export type RetrievalTieRule = 'index' | 'pessimistic';

export interface RetrievalOptions {
  /** Default `'index'`. */
  ties?: RetrievalTieRule;
}

export interface RetrievalMetrics {
  imageToText: DirectionMetrics;
  textToImage: DirectionMetrics;
  /** Mean of the six recalls (percent). */
  meanRecall: number;
  /** Sum of the six recalls (percent, at most 600). */
  rSum: number;
}

function toFlat(similarity: SimilarityMatrix): { data: ArrayLike<number>; rows: number; cols: number } {
  if (Array.isArray(similarity)) {
    const rowsArr = similarity as readonly (readonly number[])[];
    const rows = rowsArr.length;
    const cols = rows > 0 ? rowsArr[0]!.length : 0;
    const data = new Float64Array(rows * cols);
    rowsArr.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== cols) {
        throw new ShapeError(
          'retrievalMetrics',
          `similarity row ${i} has ${Array.isArray(row) ? row.length : 'no'} entries, expected ${cols}`,
        );
      }
      data.set(row, i * cols);
    });
    return { data, rows, cols };
  }
  const { data, shape } = similarity as { data: ArrayLike<number>; shape: readonly [number, number] };
  const [rows, cols] = shape;
  if (shape.length !== 2 || data.length !== rows * cols) {
    throw new ShapeError(
      'retrievalMetrics',
      `similarity has ${data.length} values, which does not fill shape [${shape.join(',')}]`,
    );
  }
  return { data, rows, cols };
}

function summarise(ranks: Int32Array): DirectionMetrics {
  const n = ranks.length;
  const recall = (k: number) => (100 * ranks.reduce((c, r) => c + (r <= k ? 1 : 0), 0)) / n;
  const sorted = Int32Array.from(ranks).sort();
  const mid = n >> 1;
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    r1: recall(1),
    r5: recall(5),
    r10: recall(10),
    medianRank: Math.floor(median),
    meanRank: ranks.reduce((a, b) => a + b, 0) / n,
    ranks,
  };
}

/**
 * Cross-modal retrieval metrics from an image–text similarity matrix, following the Karpathy split
 * evaluation of VSE++ (Faghri et al. 2018) used by ALBEF, BLIP and CLIP-style papers, and OpenCLIP's
 * `get_clip_metrics` for one caption per image:
 *
 * - image→text: an image's rank is the best (smallest) rank among **its** captions, among all texts;
 * - text→image: a caption's rank is the rank of its image among all images;
 * - R@K = % of queries whose rank ≤ K; `meanRecall` = mean of the six R@K; `rSum` = their sum;
 *   median and mean rank are 1-based.
 *
 * **Ties** never favour the ground truth, so a collapsed model (all similarities equal) is not
 * rewarded: on a 10×10 constant matrix R@1/5/10 = 10/50/100 %, as the references give.
 * - `ties: 'index'` (default): candidates are ranked by a stable descending sort, ties in index
 *   order: rank = 1 + #{j : s_j > s_gt} + #{j < gt : s_j = s_gt}. This is OpenCLIP's
 *   `get_clip_metrics` (`torch.argsort(logits, descending=True)`), VSE++ and LAION
 *   CLIP_benchmark (`topk`) with a deterministic tie order; their own sorts are unstable (torch keeps
 *   index order only for short rows, VSE++'s reversed numpy argsort puts higher indices first), so
 *   per-query ranks can differ on exact ties while a fully collapsed matrix gives the same R@K.
 * - `ties: 'pessimistic'`: rank = 1 + #{wrong j : s_j ≥ s_gt} (10×10 constant → 0/0/100 %).
 * Checked against a PyTorch/numpy evaluation on matrices full of ties
 * (`scripts/make-retrieval-ties-fixtures.py`).
 *
 * ```ts
 * // 2 images, 4 captions (captions 0,1 describe image 0; captions 2,3 image 1)
 * const m = retrievalMetrics([[0.9, 0.1, 0.2, 0.3], [0.1, 0.2, 0.8, 0.7]], [0, 0, 1, 1]);
 * m.imageToText.r1; // 100
 * ```
 * @param similarity `[numImages, numTexts]`, higher = more similar.
 * @param textToImage for each text (column) the index of its image (row); every image needs ≥ 1 text.
 */
export function retrievalMetrics(
  similarity: SimilarityMatrix,
  textToImage: ArrayLike<number>,
  options: RetrievalOptions = {},
): RetrievalMetrics {
  const ties = options.ties ?? 'index';
  if (ties !== 'index' && ties !== 'pessimistic') {
    throw new ArgumentError(
      'retrievalMetrics',
      `ties must be 'index' or 'pessimistic', got '${String(ties)}'`,
    );
  }
  const { data, rows, cols } = toFlat(similarity);
  if (rows === 0 || cols === 0) {
    throw new ShapeError('retrievalMetrics', `similarity is empty: [${rows},${cols}]`);
  }
  if (textToImage.length !== cols) {
    throw new ShapeError(
      'retrievalMetrics',
      `textToImage has ${textToImage.length} entries for ${cols} texts (similarity [${rows},${cols}])`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    if (Number.isNaN(data[i]!)) {
      throw new ArgumentError('retrievalMetrics', `similarity[${Math.floor(i / cols)}][${i % cols}] is NaN`);
    }
  }
  const captionsOf: number[][] = Array.from({ length: rows }, () => []);
  for (let t = 0; t < cols; t++) {
    const img = textToImage[t]!;
    if (!Number.isInteger(img) || img < 0 || img >= rows) {
      throw new ArgumentError(
        'retrievalMetrics',
        `textToImage[${t}] = ${img} is not an image index in [0, ${rows})`,
      );
    }
    captionsOf[img]!.push(t);
  }
  const orphan = captionsOf.findIndex((c) => c.length === 0);
  if (orphan >= 0) {
    throw new ArgumentError('retrievalMetrics', `image ${orphan} has no caption in textToImage`);
  }

  const pessimistic = ties === 'pessimistic';
  const i2t = new Int32Array(rows);
  const isOwn = new Uint8Array(cols);
  for (let i = 0; i < rows; i++) {
    // The ground truth is the image's best caption; among equally good ones, the first (which a
    // stable sort ranks highest).
    let bestIndex = captionsOf[i]![0]!;
    let best = data[i * cols + bestIndex]!;
    for (const t of captionsOf[i]!) {
      const s = data[i * cols + t]!;
      if (s > best || (s === best && t < bestIndex)) [best, bestIndex] = [s, t];
    }
    for (const t of captionsOf[i]!) isOwn[t] = 1;
    let above = 0;
    for (let t = 0; t < cols; t++) {
      const s = data[i * cols + t]!;
      if (s > best || (s === best && (pessimistic ? !isOwn[t] : t < bestIndex))) above++;
    }
    for (const t of captionsOf[i]!) isOwn[t] = 0;
    i2t[i] = above + 1;
  }
  const t2i = new Int32Array(cols);
  for (let t = 0; t < cols; t++) {
    const gt = textToImage[t]!;
    const target = data[gt * cols + t]!;
    let above = 0;
    for (let i = 0; i < rows; i++) {
      const s = data[i * cols + t]!;
      if (s > target || (s === target && i !== gt && (pessimistic || i < gt))) above++;
    }
    t2i[t] = above + 1;
  }
  const imageToText = summarise(i2t);
  const textToImageMetrics = summarise(t2i);
  const recalls = [imageToText, textToImageMetrics].flatMap((d) => [d.r1, d.r5, d.r10]);
  const rSum = recalls.reduce((a, b) => a + b, 0);
  return { imageToText, textToImage: textToImageMetrics, meanRecall: rSum / 6, rSum };
}
