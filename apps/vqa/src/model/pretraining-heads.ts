import { contrastiveLoss, itmLabels, itmLoss, sampleHardNegatives } from '@polymodal/losses';
import { Linear, MLP, Module } from '@polymodal/nn';
import { cat, crossEntropy, Generator, noGrad, scope, type Tensor, tensor } from '@polymodal/tensor';
import type { CaptionBatch } from '../data/caption-batches.js';
import type { VqaModel } from './vqa-model.js';

/** The three pretraining losses of one caption batch (unweighted). */
export interface PretrainingLosses {
  /** Masked-word prediction conditioned on the image. */
  mlm: Tensor;
  /** Image-text contrastive (symmetric InfoNCE, learnable temperature). */
  itc: Tensor;
  /** Image-text matching with hard negatives mined from the contrastive similarities. */
  itm: Tensor;
}

/**
 * The VQA model plus the heads of its pretraining stage on image-caption pairs (the objectives of
 * ALBEF/BLIP, Li et al. 2021/2022, on the model's own fusion):
 *
 * - **MLM**: one content word of each caption is replaced by `[MASK]`; the fused representation of
 *   (image, masked caption) predicts it. Reading it from `fused` rather than from the masked
 *   token's own output makes the objective work with every fusion strategy (FiLM and the Relation
 *   Network have no per-token output), and it trains exactly the path a VQA question takes.
 * - **ITC**: mean-pooled image cells and mean-pooled caption tokens, projected and contrasted; a
 *   caption of the same image is not a negative.
 * - **ITM**: fused (image, caption) → match or not, on the true pair and on a hard negative drawn
 *   in proportion to the contrastive similarity (ALBEF).
 *
 * Only `model` is kept for fine-tuning; the heads are dropped after pretraining.
 */
export class PretrainingModel extends Module {
  readonly mlmHead: MLP;
  readonly itmHead: Linear;
  readonly imageProjection: Linear;
  readonly textProjection: Linear;
  readonly logitScale: Tensor;
  /** Draws the hard negatives. */
  readonly negativeGenerator: Generator;

  constructor(
    readonly model: VqaModel,
    vocabSize: number,
    seed: number,
  ) {
    super();
    this.registerModule('model', model);
    const init = new Generator(seed + 100);
    this.negativeGenerator = new Generator(seed + 101);
    const f = model.fusedDim;
    const d = model.config.dModel;
    this.mlmHead = this.registerModule(
      'mlm_head',
      new MLP(f, [model.fusion.outputDim, vocabSize], { activation: 'gelu', generator: init }),
    );
    this.itmHead = this.registerModule('itm_head', new Linear(f, 2, { generator: init }));
    this.imageProjection = this.registerModule('image_projection', new Linear(d, d, { generator: init }));
    this.textProjection = this.registerModule('text_projection', new Linear(d, d, { generator: init }));
    this.logitScale = this.registerParameter('logit_scale', tensor([Math.log(1 / 0.07)]))!;
  }

  /** The three losses of a batch (`forward` is the same). */
  override forward(batch: CaptionBatch): PretrainingLosses {
    return this.losses(batch);
  }

  /** The three losses of a batch. */
  losses(batch: CaptionBatch): PretrainingLosses {
    const m = this.model;
    return scope(() => {
      const cells = m.encodeImage(batch.pixelValues).indexSelect(0, batch.imageIndex);
      // MLM: the fused (image, masked caption) predicts the hidden word.
      const mlmLogits = this.mlmHead.forward(m.fuse(cells, batch.maskedIds, batch.mask));
      const mlm = crossEntropy(mlmLogits, batch.maskedWord);

      // ITC on pooled, projected embeddings; captions of one image are duplicates, not negatives.
      const imageEmbeds = this.imageProjection.forward(cells.mean(1));
      const textEmbeds = this.textProjection.forward(m.text.encode(batch.inputIds, batch.mask).pooled);
      const ids = batch.imageIds;
      const duplicateMask = ids.map((a, i) => ids.map((b, j) => i !== j && a === b));
      const itcOut = contrastiveLoss(imageEmbeds, textEmbeds, {
        logitScale: this.logitScale,
        duplicateMask,
        checkFinite: false,
      });

      // ITM: every image with its caption and with a hard negative caption.
      const sim = itcOut.logitsPerImage.detach();
      const { negativeTextIndices } = noGrad(() =>
        sampleHardNegatives(sim, sim.transpose(0, 1), { ids, generator: this.negativeGenerator }),
      );
      const n = ids.length;
      const pairs = m.fuse(
        cat([cells, cells], 0),
        cat([batch.inputIds, batch.inputIds.indexSelect(0, negativeTextIndices)], 0),
        cat([batch.mask, batch.mask.indexSelect(0, negativeTextIndices)], 0),
      );
      const itm = itmLoss(this.itmHead.forward(pairs), itmLabels(n, n)).loss;
      return { mlm, itc: itcOut.loss, itm };
    });
  }
}
