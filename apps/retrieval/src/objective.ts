import { itmLoss, sampleHardNegatives } from '@polymodal/losses';
import { cat, noGrad, type Tensor, tensor } from '@polymodal/tensor';
import type { RetrievalBatch } from './data.js';
import { contrastiveWithNegatives } from './itc-negatives.js';
import type { RetrievalModel } from './model.js';

export interface RetrievalLosses {
  /** CLIP's symmetric contrastive loss over every (image, caption) pair of the batch. */
  itc: Tensor;
  /** Image–text matching on positives and hard negatives. */
  itm: Tensor;
  /** Per-cell object-kind loss (scene batches with `auxWeight` > 0). */
  cells?: Tensor;
  /** Read-out losses on both embeddings (scene batches with `auxEmbedWeight` > 0). */
  readout?: Tensor;
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
 * - **ITM** (the model's head: co-attention fusion over the sequences, or `ReadoutItm` over the
 *   embeddings' read-outs): for one caption per image, the positive pair, the image with a hard negative caption
 *   and the caption with a hard negative image, both drawn ∝ softmax of the contrastive logits
 *   (`sampleHardNegatives`, from the model's own generator); a drawn pair that is in fact true
 *   (a chance match) is labelled a match, so the head is never taught a falsehood.
 *
 * - **Scene batches** (`SceneBatcher`, from the generator's annotations): the ITC gets the
 *   generated false captions as extra image→text negatives (`contrastiveWithNegatives`), the ITM
 *   the first `itmGenNeg` of them per image as further negatives (label 0), and with the model's
 *   `probes`, `cells` (each cell's object kind) and `readout` (the scene from both embeddings,
 *   before L2 normalisation) — the PyTorch twin's recipe f1/f2, term for term.
 *
 * Multi-task weighting is the Trainer's `lossWeights` (`{ itm: w, cells: a, readout: b }`).
 *
 * ```ts
 * computeLoss: (m, b) => retrievalLosses(m as RetrievalModel, b)  // { itc, itm }
 * ```
 */
export function retrievalLosses(
  model: RetrievalModel,
  b: RetrievalBatch,
  options: { auxWeight?: number; auxEmbedWeight?: number } = {},
): RetrievalLosses {
  const images = model.image.sequence(b.pixelValues); // [I, N, d]
  const texts = model.text.sequence(b.inputIds, b.textMask); // [T (+ false captions), L, d]
  const imageEmbeds = model.image.embed(images); // [I, e]
  const allTextEmbeds = model.text.embed(texts, b.textMask);
  const pairImages = imageEmbeds.indexSelect(0, int32(b.captionImage)); // [T, e]
  const t = b.captionImage.length;
  const scenes = b.scenes ?? null;
  const negatives = scenes ? scenes.negatives.length : 0;
  const textEmbeds = negatives ? allTextEmbeds.narrow(0, 0, t) : allTextEmbeds; // [T, e]
  const duplicates = b.captionImage.map((row, i) =>
    Array.from({ length: t }, (_, j) => i !== j && b.holds[j]![row]!),
  );
  let itc: Tensor;
  let logitsPerImage: Tensor;
  let logitsPerText: Tensor;
  if (scenes) {
    // Generated false captions are extra image→text negatives (see contrastiveWithNegatives).
    const out = contrastiveWithNegatives(
      pairImages,
      textEmbeds,
      negatives ? allTextEmbeds.narrow(0, t, negatives) : null,
      model.itc.logitScale,
      duplicates,
      scenes.negativeHolds,
    );
    itc = out.loss;
    logitsPerImage = out.logits;
    logitsPerText = out.logits.transpose(0, 1);
  } else {
    ({
      loss: itc,
      logitsPerImage,
      logitsPerText,
    } = model.itc.forward(pairImages, textEmbeds, {
      duplicateMask: duplicates,
    }));
  }

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
  // Generated false captions as further ITM negatives (false for their image by construction).
  for (const k of scenes?.itmNegatives ?? []) {
    imageRows.push(scenes!.negativeImage[k]!);
    textRows.push(t + k);
    labels.push(0);
  }
  const textIndex = int32(textRows);
  const logits =
    model.itmHead === 'readout'
      ? // The read-out head: each image's and caption's read-out once, from the embeddings above (the
        // twin's itm_logits recomputes the embeddings from the sequences: the same values without
        // dropout), then paired. Its gradient reaches the read-outs and both towers.
        model.itmLogitsFromReadouts(
          model.probes!.imageReadout.forward(imageEmbeds).indexSelect(0, int32(imageRows)),
          model.probes!.textReadout.forward(allTextEmbeds).indexSelect(0, textIndex),
        )
      : model.itmLogits(
          images.indexSelect(0, int32(imageRows)),
          texts.indexSelect(0, textIndex),
          b.textMask.indexSelect(0, textIndex),
        );
  const itm = itmLoss(logits, int32(labels)).loss;
  const out: RetrievalLosses = { itc, itm, itmPairs: { imageRows, textRows, labels } };
  const targets = scenes?.targets;
  if (model.probes && targets) {
    if ((options.auxWeight ?? 0) > 0) out.cells = model.probes.cellLoss(images, targets.cellKinds);
    if ((options.auxEmbedWeight ?? 0) > 0 && scenes.positives.length === t) {
      out.readout = model.probes.readoutLoss(imageEmbeds, textEmbeds, targets);
    }
  }
  return out;
}

/** The losses' weighted sum (what the Trainer minimises), for tests and tools. */
export function totalLoss(l: RetrievalLosses, itmWeight: number, auxWeight = 0, auxEmbedWeight = 0): Tensor {
  const parts = [l.itc.reshape([1]), l.itm.mul(itmWeight).reshape([1])];
  if (l.cells) parts.push(l.cells.mul(auxWeight).reshape([1]));
  if (l.readout) parts.push(l.readout.mul(auxEmbedWeight).reshape([1]));
  return cat(parts, 0).sum();
}
