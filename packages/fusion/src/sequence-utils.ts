import { paddingMaskFromAttentionMask } from '@polymodal/attention';
import { cat, ones, scope, type Tensor } from '@polymodal/tensor';

/**
 * Mean over the tokens of `x [B, L, D]` where `mask [B, L]` is true (real tokens) → `[B, D]`;
 * a plain mean without a mask. A row with no real token gives zeros, never NaN.
 *
 * ```ts
 * maskedMean(tensor([[[1], [3], [100]]]), tensor([[true, true, false]], { dtype: 'bool' })); // [[2]]
 * ```
 */
export function maskedMean(x: Tensor, mask: Tensor | null): Tensor {
  if (!mask) return x.mean(1);
  // In a scope of its own: callers outside one (apps, other packages) get no intermediates left behind.
  return scope(() => {
    const m = mask.float().unsqueeze(-1);
    return x.mul(m).sum(1).div(m.sum(1).maximum(1));
  });
}

/**
 * `[B, D]` stays; `[B, L, D]` is mean-pooled over its real tokens.
 *
 * ```ts
 * pooled(randn([2, 5, 8]), mask).shape; // [2, 8]
 * ```
 */
export function pooled(x: Tensor, mask: Tensor | null): Tensor {
  return x.shape.length === 3 ? maskedMean(x, mask) : x;
}

/**
 * A fusion mask (true = real token) or none → the torch-style `keyPaddingMask` (true = padding)
 * of `@polymodal/attention`'s modules, or none: `paddingMaskFromAttentionMask` passing null through.
 *
 * ```ts
 * encoder.forward(x, { srcKeyPaddingMask: toPaddingMask(mask) });
 * ```
 */
export function toPaddingMask(mask: Tensor | null): Tensor | null {
  return mask ? paddingMaskFromAttentionMask(mask) : null;
}

/**
 * The mask of sequences joined along the token axis: each part's mask, all-true where a part has
 * none; null when no part has a mask (nothing is padded).
 *
 * ```ts
 * joinMasks([null, textMask], [image, text]); // [B, L_image + L_text], image part all true
 * ```
 */
export function joinMasks(masks: readonly (Tensor | null)[], sequences: readonly Tensor[]): Tensor | null {
  if (masks.every((m) => m === null)) return null;
  return cat(
    masks.map((m, i) => m ?? ones([sequences[i]!.shape[0]!, sequences[i]!.shape[1]!], { dtype: 'bool' })),
    1,
  );
}
