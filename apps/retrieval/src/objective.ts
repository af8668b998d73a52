import { itmLoss, sampleHardNegatives } from '@polymodal/losses';
import { cat, noGrad, type Tensor, tensor } from '@polymodal/tensor';
import type { RetrievalBatch } from './data.js';
import type { RetrievalModel } from './model.js';

export interface RetrievalLosses {
  /** CLIP's symmetric contrastive loss over every (image, caption) pair of the batch. */
  itc: Tensor;
  /** Image–text matching on positives and hard negatives. */
  itm: Tensor;
  /**
   * The ITM pairs scored: batch rows of the image and of the caption, and the label (1 = match),
   * positives first, then image→caption and caption→image hard negatives (for tools that replay a
   * batch elsewhere, e.g. `scripts/twin-compare.ts`).
   */
  itmPairs: { imageRows: number[]; textRows: number[]; labels: number[] };
}

const int32 = (values: readonly number[]) => tensor(Int32Array.from(values), { dtype: 'int32' });

/**
 * One batch's losses, ALBEF-style (Li et al. 2021, §3.2):
 *
 * - **ITC**: each caption paired with its image; captions that are also true of another image of
 *   the batch (its own second caption, or a chance match elsewhere) are kept out of that image's
 *   negatives, both directions (`duplicateMask`).
 * - **ITM**: for one caption per image, the positive pair, the image with a hard negative caption
 *   and the caption with a hard negative image, both drawn ∝ softmax of the contrastive logits
 *   (`sampleHardNegatives`, from the model's own generator); a drawn pair that is in fact true
 *   (a chance match) is labelled a match, so the head is never taught a falsehood.
 *
 * Multi-task weighting is the Trainer's `lossWeights` (`{ itm: w }`).
 *
 * ```ts
 * computeLoss: (m, b) => retrievalLosses(m as RetrievalModel, b)  // { itc, itm }
 * ```
 */
export function retrievalLosses(model: RetrievalModel, b: RetrievalBatch): RetrievalLosses {
  const images = model.image.sequence(b.pixelValues); // [I, N, d]
  const texts = model.text.sequence(b.inputIds, b.textMask); // [T, L, d]
  const imageEmbeds = model.image.embed(images); // [I, e]
  const textEmbeds = model.text.embed(texts, b.textMask); // [T, e]
  const pairImages = imageEmbeds.indexSelect(0, int32(b.captionImage)); // [T, e]
  const t = b.captionImage.length;
  const duplicates = b.captionImage.map((row, i) =>
    Array.from({ length: t }, (_, j) => i !== j && b.holds[j]![row]!),
  );
  const {
    loss: itc,
    logitsPerImage,
    logitsPerText,
  } = model.itc.forward(pairImages, textEmbeds, {
    duplicateMask: duplicates,
  });

  // ITM on the first caption of each image: P pairs, then P image→caption and P caption→image negatives.
  const chosen = b.captionImage.flatMap((row, i) => (i === 0 || b.captionImage[i - 1] !== row ? [i] : []));
  const p = chosen.length;
  const sel = int32(chosen);
  const { negativeTextIndices, negativeImageIndices } = noGrad(() =>
    sampleHardNegatives(
      logitsPerImage.indexSelect(0, sel).indexSelect(1, sel),
      logitsPerText.indexSelect(0, sel).indexSelect(1, sel),
      { generator: model.negativeGenerator, ids: chosen.map((c) => b.captionImage[c]!) },
    ),
  );
  const negText = Array.from(negativeTextIndices.dataSync(), (k) => chosen[k]!);
  const negImage = Array.from(negativeImageIndices.dataSync(), (k) => b.captionImage[chosen[k]!]!);
  const imageRows = [
    ...chosen.map((c) => b.captionImage[c]!),
    ...chosen.map((c) => b.captionImage[c]!),
    ...negImage,
  ];
  const textRows = [...chosen, ...negText, ...chosen];
  const labels = imageRows.map((row, k) => (k < p ? 1 : b.holds[textRows[k]!]![row] ? 1 : 0));
  const textIndex = int32(textRows);
  const logits = model.itmLogits(
    images.indexSelect(0, int32(imageRows)),
    texts.indexSelect(0, textIndex),
    b.textMask.indexSelect(0, textIndex),
  );
  const itm = itmLoss(logits, int32(labels)).loss;
  return { itc, itm, itmPairs: { imageRows, textRows, labels } };
}

/** Both losses' sum with the ITM weight (what the Trainer minimises), for tests and tools. */
export function totalLoss(l: RetrievalLosses, itmWeight: number): Tensor {
  return cat([l.itc.reshape([1]), l.itm.mul(itmWeight).reshape([1])], 0).sum();
}
