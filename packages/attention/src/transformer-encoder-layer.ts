import {
  type ActivationName,
  activationFrom,
  Dropout,
  generatorFrom,
  LayerNorm,
  Linear,
  Module,
} from '@polymodal/nn';
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

export interface TransformerEncoderLayerOptions extends RandomOptions {
  /** Hidden width of the feed-forward block. Default 2048 (torch's default). */
  dimFeedforward?: number;
  /** Dropout in attention, after each sub-block and inside the feed-forward block. Default 0.1. */
  dropout?: number;
  /** Feed-forward activation. Default `'relu'`. */
  activation?: 'relu' | 'gelu';
  /** Pre-norm (`x + f(norm(x))`, GPT/ViT) instead of post-norm (`norm(x + f(x))`, the original). Default false. */
  normFirst?: boolean;
  /** LayerNorm epsilon. Default 1e-5. */
  layerNormEps?: number;
  /** `[B, L, E]` inputs (default true); false means `[L, B, E]`. */
  batchFirst?: boolean;
  /** Biases in the linear layers and norms. Default true. */
  bias?: boolean;
}

export interface EncoderForwardOptions {
  /** Attention mask, exactly torch's `src_mask` (bool **true = not allowed**; float added). */
  srcMask?: Tensor | null;
  /**
   * `[B, L]`, exactly torch's `src_key_padding_mask`: bool **true = padding** (float added). From an
   * attention mask (true/1 = real token, as `collate` gives): `paddingMaskFromAttentionMask(mask)`.
   */
  srcKeyPaddingMask?: Tensor | null;
  /** Each position attends only to itself and earlier ones. */
  isCausal?: boolean;
}

/**
 * One Transformer encoder block (Vaswani et al. 2017; PyTorch `nn.TransformerEncoderLayer`):
 * self-attention then a feed-forward block `linear2(dropout(act(linear1(x))))`, each with a
 * residual connection and LayerNorm, post-norm by default or pre-norm with `normFirst`
 * (Xiong et al. 2020). Parameter names match torch (`self_attn.*`, `linear1`, `linear2`, `norm1`,
 * `norm2`), so its state dicts load as is.
 *
 * ```ts
 * const layer = new TransformerEncoderLayer(64, 4, { dimFeedforward: 128, normFirst: true, seed: 0 });
 * layer.forward(x, { srcKeyPaddingMask: pad }); // x [B, L, 64] → [B, L, 64]
 * ```
 */
export class TransformerEncoderLayer extends Module {
  readonly dModel: number;
  readonly normFirst: boolean;
  readonly batchFirst: boolean;
  readonly selfAttn: MultiHeadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly activation: Module;

  constructor(dModel: number, nHead: number, options: TransformerEncoderLayerOptions = {}) {
    super();
    const generator = generatorFrom(options);
    const p = options.dropout ?? 0.1;
    const bias = options.bias ?? true;
    const eps = options.layerNormEps ?? 1e-5;
    const act = options.activation ?? 'relu';
    if (act !== 'relu' && act !== 'gelu') {
      throw new ArgumentError('TransformerEncoderLayer', `activation must be 'relu' or 'gelu', got '${act}'`);
    }
    this.dModel = dModel;
    this.normFirst = options.normFirst ?? false;
    this.batchFirst = options.batchFirst ?? true;
    // Attention always runs batch-first inside; forward transposes once for [L, B, E] inputs.
    this.selfAttn = this.registerModule(
      'self_attn',
      new MultiHeadAttention(dModel, nHead, { dropout: p, bias, generator }),
    );
    const ff = options.dimFeedforward ?? 2048;
    this.linear1 = this.registerModule('linear1', new Linear(dModel, ff, { bias, generator }));
    this.dropout = this.registerModule('dropout', new Dropout(p, { generator }));
    this.linear2 = this.registerModule('linear2', new Linear(ff, dModel, { bias, generator }));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps, bias }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps, bias }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(p, { generator }));
    this.dropout2 = this.registerModule('dropout2', new Dropout(p, { generator }));
    this.activation = this.registerModule('activation', activationFrom(act as ActivationName));
  }

  private selfAttentionBlock(x: Tensor, options: EncoderForwardOptions): Tensor {
    assertTorchStyleMask('TransformerEncoderLayer', 'srcMask', options.srcMask);
    assertTorchStyleMask('TransformerEncoderLayer', 'srcKeyPaddingMask', options.srcKeyPaddingMask);
    const { output } = this.selfAttn.forward(x, x, x, {
      attnMask: options.srcMask ?? null,
      keyPaddingMask: options.srcKeyPaddingMask ?? null,
      causal: options.isCausal ?? false,
      needWeights: false,
    });
    return this.dropout1.forward(output);
  }

  private feedForwardBlock(x: Tensor): Tensor {
    const hidden = this.dropout.forward(this.activation.forward(this.linear1.forward(x)) as Tensor);
    return this.dropout2.forward(this.linear2.forward(hidden));
  }

  forward(src: Tensor, options: EncoderForwardOptions = {}): Tensor {
    if (src.rank !== 3 || src.shape[2] !== this.dModel) {
      throw new ShapeError(
        'TransformerEncoderLayer',
        `src must be [B, L, ${this.dModel}], got ${formatShape(src.shape)}`,
      );
    }
    return scope(() => {
      let x = this.batchFirst ? src : src.transpose(0, 1);
      if (this.normFirst) {
        x = x.add(this.selfAttentionBlock(this.norm1.forward(x), options));
        x = x.add(this.feedForwardBlock(this.norm2.forward(x)));
      } else {
        x = this.norm1.forward(x.add(this.selfAttentionBlock(x, options)));
        x = this.norm2.forward(x.add(this.feedForwardBlock(x)));
      }
      return this.batchFirst ? x : x.transpose(0, 1);
    });
  }
}
