import {
  ArgumentError,
  binaryCrossEntropyWithLogits,
  exp,
  eye,
  matmul,
  scope,
  type Tensor,
  tensor,
  transpose,
} from '@polymodal/tensor';
import { checkEmbeddingPair, l2Normalize } from './contrastive.js';
import { assertFinite, assertScalarLike, shouldCheckOutput } from './validate.js';

export interface SigmoidLossOptions {
  /** Log-space temperature t' (logits scaled by exp(t')); tensor (a parameter) or number. SigLIP initialises ln 10. */
  logitScale: Tensor | number;
  /** Bias b added to every logit; tensor or number. SigLIP initialises −10. */
  logitBias: Tensor | number;
  /** L2-normalise the embeddings first (SigLIP's towers do). Default true. */
  normalize?: boolean;
  /**
   * Check the embeddings (and tensor scale/bias) for NaN/∞ first. It reads them back to the host
   * (a device sync), so by default it runs only in anomaly mode (`withAnomalyMode`); `true` forces
   * it, `false` skips it.
   */
  checkFinite?: boolean;
}

export interface SigLipLossOutput {
  /** Scalar: −(1/N) Σ_i Σ_j log σ(z_ij · logits_ij). */
  loss: Tensor;
  /** `[N, N]`: exp(t')·x_i·y_j + b. */
  logits: Tensor;
  /** `[N, N]` float32: z_ij = +1 on the diagonal, −1 elsewhere. */
  labels: Tensor;
}

/**
 * Pairwise sigmoid loss of SigLIP (Zhai et al. 2023, "Sigmoid Loss for Language Image
 * Pre-Training"), as in big_vision and OpenCLIP's `SigLipLoss`:
 *
 *   logits_ij = exp(t')·x̂_i·ŷ_j + b,   z_ij = +1 if i = j else −1
 *   L = −(1/N) Σ_i Σ_j log σ(z_ij · logits_ij)
 *
 * (summed over all N² pairs and divided by the batch size N, as in the paper's pseudocode).
 *
 * ```ts
 * const { loss } = sigLipLoss(img, txt, { logitScale: Math.log(10), logitBias: -10 }); // [N, D] × 2 → scalar
 * ```
 */
export function sigLipLoss(
  imageEmbeds: Tensor,
  textEmbeds: Tensor,
  options: SigmoidLossOptions,
): SigLipLossOutput {
  const op = 'sigLipLoss';
  const n = checkEmbeddingPair(op, imageEmbeds, textEmbeds);
  if (!options) throw new ArgumentError(op, 'options { logitScale, logitBias } are required');
  const { logitScale, logitBias } = options;
  assertScalarLike(op, 'logitScale', logitScale);
  assertScalarLike(op, 'logitBias', logitBias);
  if (shouldCheckOutput(imageEmbeds, options.checkFinite)) {
    assertFinite(op, 'imageEmbeds', imageEmbeds);
    assertFinite(op, 'textEmbeds', textEmbeds);
    if (typeof logitScale !== 'number') assertFinite(op, 'logitScale', logitScale);
    if (typeof logitBias !== 'number') assertFinite(op, 'logitBias', logitBias);
  }
  const normalize = options.normalize ?? true;
  return scope(() => {
    const x = normalize ? l2Normalize(imageEmbeds) : imageEmbeds;
    const y = normalize ? l2Normalize(textEmbeds) : textEmbeds;
    const scale = typeof logitScale === 'number' ? tensor(Math.exp(logitScale)) : exp(logitScale.reshape());
    const bias = typeof logitBias === 'number' ? tensor(logitBias) : logitBias.reshape();
    const logits = matmul(x, transpose(y, 0, 1))
      .mul(scale)
      .add(bias);
    const positives = eye(n);
    // −log σ(z·l) = BCE-with-logits(l, (z+1)/2), the numerically stable form.
    const loss = binaryCrossEntropyWithLogits(logits, positives, { reduction: 'sum' }).div(n);
    const labels = positives.mul(2).sub(1);
    return { loss, logits, labels };
  });
}

/** @deprecated Renamed {@link sigLipLoss}, the function of the `SigLipLoss` module (`xLoss` ↔ `XLoss`). */
export const sigmoidLoss: typeof sigLipLoss = sigLipLoss;

/** @deprecated Renamed {@link SigLipLossOutput}. */
export type SigmoidLossOutput = SigLipLossOutput;
