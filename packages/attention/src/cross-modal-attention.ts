import { Module } from '@polymodal/nn';
import type { Tensor } from '@polymodal/tensor';
import { assertTorchStyleMask } from './masks.js';
import { MultiHeadAttention, type MultiHeadAttentionOptions } from './multi-head-attention.js';

export interface CrossModalAttentionOptions extends Omit<MultiHeadAttentionOptions, 'kdim' | 'vdim'> {
  /** Number of heads; must divide `dQuery`. Default 1. */
  numHeads?: number;
}

/**
 * Cross-modal attention: one modality's tokens `X¹ [B, L1, d1]` query another's `X² [B, L2, d2]`
 * with `Q = X¹W_q`, `K = X²W_k`, `V = X²W_v` (d1 ≠ d2 allowed; Tsai et al. 2019, MulT), then
 * the output projection back to `d1`. A `MultiHeadAttention(d1, h, { kdim: d2, vdim: d2 })` under
 * the name `attn`, with `q_proj_weight [d1, d1]`, `k_proj_weight [d1, d2]`, `v_proj_weight [d1, d2]`.
 *
 * ```ts
 * const xattn = new CrossModalAttention(64, 32, { numHeads: 4, seed: 0 });
 * const { output } = xattn.forward(text, image, { contextPaddingMask }); // [B, Lt, 64]
 * ```
 */
export class CrossModalAttention extends Module {
  readonly attn: MultiHeadAttention;

  constructor(dQuery: number, dContext: number, options: CrossModalAttentionOptions = {}) {
    super();
    const { numHeads = 1, ...rest } = options;
    this.attn = this.registerModule(
      'attn',
      new MultiHeadAttention(dQuery, numHeads, { ...rest, kdim: dContext, vdim: dContext }),
    );
  }

  /**
   * `contextPaddingMask [B, L2]` is `MultiHeadAttention`'s `keyPaddingMask` over the context:
   * bool **true = padding**, as in torch (from an attention mask: `paddingMaskFromAttentionMask`);
   * `attnMask` likewise (true = not allowed).
   */
  forward(
    x: Tensor,
    context: Tensor,
    options: { contextPaddingMask?: Tensor | null; attnMask?: Tensor | null; needWeights?: boolean } = {},
  ): { output: Tensor; weights: Tensor | null } {
    assertTorchStyleMask('CrossModalAttention', 'contextPaddingMask', options.contextPaddingMask);
    return this.attn.forward(x, context, context, {
      keyPaddingMask: options.contextPaddingMask ?? null,
      attnMask: options.attnMask ?? null,
      needWeights: options.needWeights ?? false,
    });
  }
}
