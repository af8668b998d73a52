import { activationFrom, Dropout, generatorFrom, LayerNorm, Linear, Module } from '@polymodal/nn';
import {
  ArgumentError,
  formatShape,
  type RandomOptions,
  ShapeError,
  scope,
  type Tensor,
} from '@polymodal/tensor';
import { assertTorchStyleMask } from './masks.js';
import { MultiHeadAttention } from './multi-head-attention.js';

export interface CrossAttentionLayerOptions extends RandomOptions {
  /** Hidden width of the feed-forward block. Default 4·dModel. */
  dimFeedforward?: number;
  /** Default 0.1. */
  dropout?: number;
  /** Default `'gelu'`. */
  activation?: 'relu' | 'gelu';
  /** Pre-norm residual blocks. Default true. */
  normFirst?: boolean;
  /** Default 1e-5. */
  layerNormEps?: number;
}

export interface CrossAttentionForwardOptions {
  /**
   * `[B, L]`, bool **true = padding** in `x`, as torch's `tgt_key_padding_mask` (float added). From
   * an attention mask (true/1 = real token): `paddingMaskFromAttentionMask(mask)`.
   */
  keyPaddingMask?: Tensor | null;
  /** `[B, Lc]`, bool **true = padding** in `context`, as torch's `memory_key_padding_mask`. */
  contextPaddingMask?: Tensor | null;
  /** Causal self-attention over `x`. */
  causal?: boolean;
}

/**
 * A two-stream block: self-attention over `x [B, L, dModel]`, cross-attention from `x` to another
 * modality's `context [B, Lc, dContext]` (`Q = xW_q`, `K, V = context·W_{k,v}`), then a feed-forward
 * block, each residual with LayerNorm (like `nn.TransformerDecoderLayer`, whose names it uses:
 * `self_attn`, `multihead_attn`, `linear1`, `linear2`, `norm1..3`; as in Flamingo/BLIP fusion layers).
 *
 * ```ts
 * const block = new CrossAttentionLayer(64, 32, 4, { seed: 0 });
 * block.forward(text, image, { keyPaddingMask: textPad }); // [B, Lt, 64]
 * ```
 */
export class CrossAttentionLayer extends Module {
  readonly dModel: number;
  readonly dContext: number;
  readonly normFirst: boolean;
  readonly selfAttn: MultiHeadAttention;
  readonly multiheadAttn: MultiHeadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly dropout3: Dropout;
  readonly activation: Module;

  constructor(dModel: number, dContext: number, nHead: number, options: CrossAttentionLayerOptions = {}) {
    super();
    const generator = generatorFrom(options);
    const p = options.dropout ?? 0.1;
    const eps = options.layerNormEps ?? 1e-5;
    const act = options.activation ?? 'gelu';
    if (act !== 'relu' && act !== 'gelu') {
      throw new ArgumentError('CrossAttentionLayer', `activation must be 'relu' or 'gelu', got '${act}'`);
    }
    this.dModel = dModel;
    this.dContext = dContext;
    this.normFirst = options.normFirst ?? true;
    this.selfAttn = this.registerModule(
      'self_attn',
      new MultiHeadAttention(dModel, nHead, { dropout: p, generator }),
    );
    this.multiheadAttn = this.registerModule(
      'multihead_attn',
      new MultiHeadAttention(dModel, nHead, { dropout: p, kdim: dContext, vdim: dContext, generator }),
    );
    const ff = options.dimFeedforward ?? 4 * dModel;
    this.linear1 = this.registerModule('linear1', new Linear(dModel, ff, { generator }));
    this.dropout = this.registerModule('dropout', new Dropout(p, { generator }));
    this.linear2 = this.registerModule('linear2', new Linear(ff, dModel, { generator }));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps }));
    this.norm3 = this.registerModule('norm3', new LayerNorm(dModel, { eps }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(p, { generator }));
    this.dropout2 = this.registerModule('dropout2', new Dropout(p, { generator }));
    this.dropout3 = this.registerModule('dropout3', new Dropout(p, { generator }));
    this.activation = this.registerModule('activation', activationFrom(act));
  }

  forward(x: Tensor, context: Tensor, options: CrossAttentionForwardOptions = {}): Tensor {
    if (
      x.rank !== 3 ||
      x.shape[2] !== this.dModel ||
      context.rank !== 3 ||
      context.shape[2] !== this.dContext
    ) {
      throw new ShapeError(
        'CrossAttentionLayer',
        `x must be [B, L, ${this.dModel}] and context [B, Lc, ${this.dContext}], got ${formatShape(x.shape)} and ${formatShape(context.shape)}`,
      );
    }
    assertTorchStyleMask('CrossAttentionLayer', 'keyPaddingMask', options.keyPaddingMask);
    assertTorchStyleMask('CrossAttentionLayer', 'contextPaddingMask', options.contextPaddingMask);
    const sa = (h: Tensor) =>
      this.dropout1.forward(
        this.selfAttn.forward(h, h, h, {
          keyPaddingMask: options.keyPaddingMask ?? null,
          causal: options.causal ?? false,
          needWeights: false,
        }).output,
      );
    const ca = (h: Tensor) =>
      this.dropout2.forward(
        this.multiheadAttn.forward(h, context, context, {
          keyPaddingMask: options.contextPaddingMask ?? null,
          needWeights: false,
        }).output,
      );
    const ff = (h: Tensor) =>
      this.dropout3.forward(
        this.linear2.forward(
          this.dropout.forward(this.activation.forward(this.linear1.forward(h)) as Tensor),
        ),
      );
    return scope(() => {
      let h = x;
      if (this.normFirst) {
        h = h.add(sa(this.norm1.forward(h)));
        h = h.add(ca(this.norm2.forward(h)));
        h = h.add(ff(this.norm3.forward(h)));
      } else {
        h = this.norm1.forward(h.add(sa(h)));
        h = this.norm2.forward(h.add(ca(h)));
        h = this.norm3.forward(h.add(ff(h)));
      }
      return h;
    });
  }
}
