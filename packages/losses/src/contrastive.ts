import {
  arange,
  assertDType,
  assertShape,
  assertTensor,
  checkInRange,
  clamp,
  crossEntropy,
  exp,
  eye,
  formatShape,
  logicalAnd,
  matmul,
  noGrad,
  ShapeError,
  scope,
  sum,
  type Tensor,
  tensor,
  transpose,
} from '@polymodal/tensor';
import { assertBatch, assertFinite, assertScalarLike, shouldCheckOutput } from './validate.js';

/** ln 100: OpenCLIP's upper bound on the log logit scale (a temperature of at least 0.01). */
export const MAX_LOG_LOGIT_SCALE = Math.log(100);

/** L2-normalises the rows of `x` like `F.normalize(x, dim=-1)`: `x / max(‖x‖₂, 1e-12)`. */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  return scope(() => x.div(x.square().sum(-1, true).sqrt().maximum(eps)));
}

/** Checks a pair of embedding batches `[N, D]` and returns N. */
export function checkEmbeddingPair(op: string, imageEmbeds: Tensor, textEmbeds: Tensor): number {
  assertTensor(op, 'imageEmbeds', imageEmbeds);
  assertTensor(op, 'textEmbeds', textEmbeds);
  assertShape(op, 'imageEmbeds', imageEmbeds, [null, null], '[N, D]');
  assertShape(op, 'textEmbeds', textEmbeds, [null, null], '[N, D]');
  assertDType(op, 'imageEmbeds', imageEmbeds, 'float32');
  assertDType(op, 'textEmbeds', textEmbeds, 'float32');
  if (imageEmbeds.shape[0] !== textEmbeds.shape[0] || imageEmbeds.shape[1] !== textEmbeds.shape[1]) {
    throw new ShapeError(
      op,
      `imageEmbeds ${formatShape(imageEmbeds.shape)} and textEmbeds ${formatShape(textEmbeds.shape)} must both be [N, D] with the same N and D`,
    );
  }
  assertBatch(op, 'imageEmbeds', imageEmbeds);
  return imageEmbeds.shape[0]!;
}

/**
 * The duplicate mask as a bool `[N, N]` tensor: nested arrays are uploaded, a tensor is used where
 * it lives (nonzero = true), so a mask on a GPU is never read back.
 */
function duplicateMatrix(op: string, mask: Tensor | readonly (readonly boolean[])[], n: number): Tensor {
  if (Array.isArray(mask)) {
    const rows = mask as readonly (readonly boolean[])[];
    if (rows.length !== n || rows.some((row) => !Array.isArray(row) || row.length !== n)) {
      throw new ShapeError(op, `duplicateMask must be [${n},${n}] for a batch of ${n}`);
    }
    const out = new Uint8Array(n * n);
    rows.forEach((row, i) => {
      row.forEach((v, j) => {
        out[i * n + j] = v ? 1 : 0;
      });
    });
    return tensor(out, { shape: [n, n], dtype: 'bool' });
  }
  const t = mask as Tensor;
  assertTensor(op, 'duplicateMask', t);
  assertShape(op, 'duplicateMask', t, [n, n]);
  return t.dtype === 'bool' ? t : t.ne(0);
}

export interface ContrastiveLossOptions {
  /**
   * The learnable log-space logit scale (`t'` with logits scaled by `exp(t')`), a one-element
   * tensor (a parameter) or a number; clamped to [0, ln 100] in log space as in OpenCLIP.
   * CLIP initialises it to ln(1/0.07). Default ln(1/0.07).
   */
  logitScale?: Tensor | number;
  /** Label smoothing ε over each row's candidates (Szegedy et al. 2016). Default 0. */
  labelSmoothing?: number;
  /**
   * `[N, N]` booleans: `true` at (i, j), i ≠ j, when text j also matches image i (a duplicate
   * caption or image in the batch). Such pairs are removed from the negatives of both directions;
   * the diagonal is always the positive. Default: none.
   */
  duplicateMask?: Tensor | readonly (readonly boolean[])[];
  /**
   * Check the embeddings (and a tensor logit scale) for NaN/∞ first. It reads them back to the
   * host (a device sync), so by default it runs only in anomaly mode (`withAnomalyMode`); `true`
   * forces it, `false` skips it.
   */
  checkFinite?: boolean;
}

export interface ContrastiveLossOutput {
  /** Scalar: (L_image→text + L_text→image) / 2. */
  loss: Tensor;
  /** `[N, N]`: exp(clamped logitScale) · Î Tᵀ (row i = image i against every text). */
  logitsPerImage: Tensor;
  /** `[N, N]`: the transpose (row j = text j against every image). */
  logitsPerText: Tensor;
  /** Int32 `[N]`: 0, 1, …, N−1 (the matching pair is on the diagonal). */
  targets: Tensor;
  /** Scalar: cross-entropy over rows of `logitsPerImage`. */
  lossImageToText: Tensor;
  /** Scalar: cross-entropy over rows of `logitsPerText`. */
  lossTextToImage: Tensor;
  /** Scalar: the multiplier exp(clamp(logitScale, 0, ln 100)) actually used. */
  scale: Tensor;
}

/**
 * Image–text contrastive (InfoNCE) loss of CLIP (Radford et al. 2021, "Learning Transferable Visual
 * Models From Natural Language Supervision"), as implemented in OpenCLIP's `ClipLoss`:
 *
 *   Î = I/‖I‖, T̂ = T/‖T‖,  s = exp(clamp(t', 0, ln 100)),  logits = s · Î T̂ᵀ  [N, N]
 *   L = ½ (CE(logits, diag) + CE(logitsᵀ, diag))
 *
 * with optional label smoothing and optional removal of in-batch duplicates from the negatives.
 *
 * ```ts
 * const logitScale = tensor(Math.log(1 / 0.07), { requiresGrad: true });
 * const { loss, logitsPerImage } = contrastiveLoss(imageEmbeds, textEmbeds, { logitScale }); // [N, D] × 2 → scalar, [N, N]
 * ```
 */
export function contrastiveLoss(
  imageEmbeds: Tensor,
  textEmbeds: Tensor,
  options: ContrastiveLossOptions = {},
): ContrastiveLossOutput {
  const op = 'contrastiveLoss';
  const n = checkEmbeddingPair(op, imageEmbeds, textEmbeds);
  const logitScale = options.logitScale ?? Math.log(1 / 0.07);
  assertScalarLike(op, 'logitScale', logitScale);
  const eps = options.labelSmoothing ?? 0;
  checkInRange(op, 'labelSmoothing', eps, 0, 1);
  if (shouldCheckOutput(imageEmbeds, options.checkFinite)) {
    assertFinite(op, 'imageEmbeds', imageEmbeds);
    assertFinite(op, 'textEmbeds', textEmbeds);
    if (typeof logitScale !== 'number') assertFinite(op, 'logitScale', logitScale);
  }
  return scope(() => {
    const excluded = options.duplicateMask ? duplicateMatrix(op, options.duplicateMask, n) : null;
    const logScale =
      typeof logitScale === 'number'
        ? tensor(Math.min(Math.max(logitScale, 0), MAX_LOG_LOGIT_SCALE))
        : clamp(logitScale.reshape(), 0, MAX_LOG_LOGIT_SCALE);
    const scale = exp(logScale);
    const similarity = matmul(l2Normalize(imageEmbeds), transpose(l2Normalize(textEmbeds), 0, 1));
    const logitsPerImage = similarity.mul(scale);
    const logitsPerText = transpose(logitsPerImage, 0, 1);
    const targets = noGrad(() => arange(n));
    const direction = (logits: Tensor, transposed: boolean): Tensor => {
      if (!excluded) return crossEntropy(logits, targets, { labelSmoothing: eps });
      // Excluded entries get a huge negative logit: softmax weight exactly 0, gradient 0, no ∞·0.
      // The soft targets put (1 − ε) on the diagonal plus ε / K_i over the K_i candidates of row i
      // that are not excluded (with no exclusions K_i = N: PyTorch's label smoothing exactly).
      // Built on the device from the mask: nothing is read back.
      const diagonal = eye(n);
      const drop = logicalAnd(transposed ? transpose(excluded, 0, 1) : excluded, diagonal.eq(0));
      const keep = drop.logicalNot().float();
      const q = diagonal.mul(1 - eps).add(keep.mul(eps).div(keep.sum(-1, true)));
      const masked = logits.maskedFill(drop, -1e30);
      return sum(q.mul(masked.logSoftmax(-1)))
        .neg()
        .div(n);
    };
    const lossImageToText = direction(logitsPerImage, false);
    const lossTextToImage = direction(logitsPerText, true);
    const loss = lossImageToText.add(lossTextToImage).div(2);
    return { loss, logitsPerImage, logitsPerText, targets, lossImageToText, lossTextToImage, scale };
  });
}
