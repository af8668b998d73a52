import { l2Normalize, MAX_LOG_LOGIT_SCALE } from '@polymodal/losses';
import { arange, cat, crossEntropy, scope, type Tensor, tensor } from '@polymodal/tensor';

export interface ContrastiveWithNegativesOutput {
  loss: Tensor;
  /** `[P, P]`: scale · cos(pair i's image, caption j), before any masking (for hard negatives). */
  logits: Tensor;
}

/**
 * CLIP's contrastive loss over P (image, caption) pairs with extra captions that are negatives of
 * the image→text direction only (NegCLIP, Yuksekgonul et al. 2023) — the twin's ITC with
 * `--neg-caps`:
 *
 *   logits = s · Î_pairs T̂ᵀ  [P, P],  s = exp(clamp(logitScale, 0, ln 100))
 *   L_i→t = CE([logits | s · Î_pairs N̂ᵀ] masked, diag),  L_t→i = CE(logitsᵀ masked, diag),  L = ½ (L_i→t + L_t→i)
 *
 * `duplicates[i][j]` (i ≠ j): caption j is also true of pair i's image — kept out of both
 * directions; `negativeHolds[i][n]`: extra caption n is in fact true of pair i's image — kept out
 * too. With no extra captions this is `contrastiveLoss` with a duplicate mask.
 *
 * Why: the generated false captions differ from a true one by one attribute or the relation, the
 * negatives the test set's distractors pose; images never meet them otherwise.
 */
export function contrastiveWithNegatives(
  pairImages: Tensor,
  captions: Tensor,
  negatives: Tensor | null,
  logitScale: Tensor,
  duplicates: readonly (readonly boolean[])[],
  negativeHolds: readonly (readonly boolean[])[],
): ContrastiveWithNegativesOutput {
  return scope(() => {
    const p = pairImages.shape[0]!;
    const scale = logitScale.reshape([]).clamp(0, MAX_LOG_LOGIT_SCALE).exp();
    const images = l2Normalize(pairImages);
    const logits = images.matmul(l2Normalize(captions).transpose(0, 1)).mul(scale);
    const dup = tensor(duplicates.flat(), { shape: [p, p], dtype: 'bool' });
    // Row i's target is column i (its own caption; extra negatives come after column P−1).
    const targets = arange(0, p, 1, { dtype: 'int32' });
    // Excluded entries get a huge negative logit: softmax weight 0, gradient 0, no ∞·0.
    const ce = (l: Tensor) => crossEntropy(l, targets);
    let rows = logits.maskedFill(dup, -1e30);
    if (negatives && negatives.shape[0]! > 0) {
      const n = negatives.shape[0]!;
      const neg = images
        .matmul(l2Normalize(negatives).transpose(0, 1))
        .mul(scale)
        .maskedFill(tensor(negativeHolds.flat(), { shape: [p, n], dtype: 'bool' }), -1e30);
      rows = cat([rows, neg], 1);
    }
    const imageToText = ce(rows);
    const textToImage = ce(logits.transpose(0, 1).maskedFill(dup.transpose(0, 1), -1e30));
    return { loss: imageToText.add(textToImage).div(2), logits };
  });
}
