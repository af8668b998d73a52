import { DTypeError, type Tensor } from '@polymodal/tensor';

/*
 * Mask conventions in Polymodal (one rule, told by the name):
 *
 * - An `attentionMask` / `mask` (Hugging Face's `attention_mask`; `@polymodal/data`'s `collate`,
 *   `@polymodal/fusion`'s `FusionMasks` and `FusionOutput.mask`, `scaledDotProductAttention`'s
 *   `mask`, like torch's `F.scaled_dot_product_attention`): bool, **true = a real token / may be
 *   attended to**.
 * - A `…PaddingMask` or `attnMask`/`srcMask` (the modules that mirror torch's
 *   `nn.MultiheadAttention` and `nn.Transformer*` and load their state dicts: `MultiHeadAttention`,
 *   `TransformerEncoderLayer`, `TransformerEncoder`, `CrossAttentionLayer`, `CrossModalAttention`):
 *   bool, **true = padding / not allowed**, exactly as in torch; a float mask is added to the scores.
 *
 * The two functions below convert between them.
 */

function checkMaskDType(op: string, name: string, mask: Tensor): void {
  if (mask.dtype !== 'bool' && mask.dtype !== 'int32')
    throw new DTypeError(
      op,
      `${name} must be bool or int32 (1/0), got ${mask.dtype}; a float mask is additive and has no padding to flip`,
    );
}

/**
 * An attention mask (Hugging Face's `attention_mask`, `collate`'s `attentionMask`, fusion masks:
 * **true or 1 = real token**) → the torch-style key padding mask the torch-mirroring modules take
 * (`keyPaddingMask`, `srcKeyPaddingMask`, `contextPaddingMask`: **true = padding**). Same shape, bool.
 *
 * ```ts
 * const { inputIds, attentionMask } = collate(samples, { padId }); // attentionMask bool [B, L]
 * encoder.forward(x, { srcKeyPaddingMask: paddingMaskFromAttentionMask(attentionMask) });
 * ```
 */
export function paddingMaskFromAttentionMask(attentionMask: Tensor): Tensor {
  checkMaskDType('paddingMaskFromAttentionMask', 'attentionMask', attentionMask);
  return attentionMask.dtype === 'bool' ? attentionMask.logicalNot() : attentionMask.eq(0);
}

/**
 * A torch-style key padding mask (**true or 1 = padding**) → an attention mask (**true = real
 * token**), as `@polymodal/fusion` and `collate` use. Same shape, bool.
 *
 * ```ts
 * fusion.forward({ image, text }, { text: attentionMaskFromPaddingMask(textPadding) });
 * ```
 */
export function attentionMaskFromPaddingMask(paddingMask: Tensor): Tensor {
  checkMaskDType('attentionMaskFromPaddingMask', 'paddingMask', paddingMask);
  return paddingMask.dtype === 'bool' ? paddingMask.logicalNot() : paddingMask.eq(0);
}

/**
 * Throws a DTypeError for an int mask given to a torch-style mask argument: torch reads a non-bool
 * mask as additive, so an int 1/0 attention mask would add 1 to the real tokens' scores and mask
 * nothing. Say how to convert it instead.
 */
export function assertTorchStyleMask(op: string, name: string, mask: Tensor | null | undefined): void {
  if (mask && mask.dtype !== 'bool' && mask.dtype !== 'float32') {
    const meaning = name === 'attnMask' || name === 'srcMask' ? 'not allowed' : 'padding';
    throw new DTypeError(
      op,
      `${name} must be bool (true = ${meaning}, as in torch) or float32 (added to the scores), got ${mask.dtype}; an int 1/0 mask with 1 = real token converts with paddingMaskFromAttentionMask(mask)`,
    );
  }
}
