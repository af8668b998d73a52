import {
  LearnedPositionalEmbedding,
  sinCos2dPositionalEncoding,
  TransformerEncoder,
} from '@polymodal/attention';
import { ContrastiveLoss } from '@polymodal/losses';
import { Embedding, LayerNorm, Linear, Module, PatchEmbedding } from '@polymodal/nn';
import { scope, type Tensor } from '@polymodal/tensor';
import type { RetrievalConfig } from './config.js';

type EncoderConfig = Pick<
  RetrievalConfig,
  'dModel' | 'embedDim' | 'numLayers' | 'numHeads' | 'dropout' | 'seed'
>;

function encoder(config: EncoderConfig, seed: number): TransformerEncoder {
  return new TransformerEncoder(
    {
      dModel: config.dModel,
      nHead: config.numHeads,
      dimFeedforward: 2 * config.dModel,
      dropout: config.dropout,
      activation: 'gelu',
      normFirst: true,
      seed,
    },
    config.numLayers,
    { norm: new LayerNorm(config.dModel) },
  );
}

/** Masked mean over the sequence: `[B, L, D]`, mask `[B, L]` (true = real) → `[B, D]`. */
function maskedMean(x: Tensor, mask: Tensor | null): Tensor {
  return scope(() => {
    if (!mask) return x.mean(1);
    const m = mask.float().unsqueeze(-1);
    return x.mul(m).sum(1).div(m.sum(1).maximum(1));
  });
}

/** ViT-style image tower: patches + fixed 2-D sin-cos positions → encoder → mean pool → projection. */
export class ImageEncoder extends Module {
  readonly patches: PatchEmbedding;
  readonly positions: Tensor;
  readonly encoder: TransformerEncoder;
  readonly projection: Linear;

  constructor(config: EncoderConfig & Pick<RetrievalConfig, 'imageSize' | 'patchSize'>) {
    super();
    const grid = config.imageSize / config.patchSize;
    this.patches = this.registerModule(
      'patches',
      new PatchEmbedding(config.imageSize, config.patchSize, config.dModel, { seed: config.seed }),
    );
    this.positions = this.registerBuffer('positions', sinCos2dPositionalEncoding(grid, grid, config.dModel))!;
    this.encoder = this.registerModule('encoder', encoder(config, config.seed + 1));
    this.projection = this.registerModule(
      'projection',
      new Linear(config.dModel, config.embedDim, { seed: config.seed + 2 }),
    );
  }

  override forward(pixelValues: Tensor): Tensor {
    return scope(() => {
      const x = this.encoder.forward(this.patches.forward(pixelValues).add(this.positions));
      return this.projection.forward(maskedMean(x, null));
    });
  }
}

/** Text tower: tokens + learned positions → encoder (padding masked) → masked mean → projection. */
export class TextEncoder extends Module {
  readonly tokens: Embedding;
  readonly positions: LearnedPositionalEmbedding;
  readonly encoder: TransformerEncoder;
  readonly projection: Linear;

  constructor(config: EncoderConfig, vocabSize: number, padId: number, maxLength: number) {
    super();
    this.tokens = this.registerModule(
      'tokens',
      new Embedding(vocabSize, config.dModel, { paddingIdx: padId, seed: config.seed + 3 }),
    );
    this.positions = this.registerModule(
      'positions',
      new LearnedPositionalEmbedding(maxLength, config.dModel, { seed: config.seed + 4 }),
    );
    this.encoder = this.registerModule('encoder', encoder(config, config.seed + 5));
    this.projection = this.registerModule(
      'projection',
      new Linear(config.dModel, config.embedDim, { seed: config.seed + 6 }),
    );
  }

  override forward(inputIds: Tensor, textMask: Tensor): Tensor {
    return scope(() => {
      const x = this.positions.forward(this.tokens.forward(inputIds));
      const h = this.encoder.forward(x, { srcKeyPaddingMask: textMask.logicalNot() });
      return this.projection.forward(maskedMean(h, textMask));
    });
  }
}

/**
 * A CLIP-style dual encoder (Radford et al. 2021): separate image and text towers map into one
 * embedding space, trained with the symmetric contrastive loss and its learnable temperature.
 */
export class DualEncoder extends Module {
  readonly image: ImageEncoder;
  readonly text: TextEncoder;
  readonly itc: ContrastiveLoss;

  constructor(config: RetrievalConfig, vocabSize: number, padId: number, maxLength: number) {
    super();
    this.image = this.registerModule('image', new ImageEncoder(config));
    this.text = this.registerModule('text', new TextEncoder(config, vocabSize, padId, maxLength));
    this.itc = this.registerModule('itc', new ContrastiveLoss());
  }

  override forward(pixelValues: Tensor, inputIds: Tensor, textMask: Tensor): { image: Tensor; text: Tensor } {
    return { image: this.image.forward(pixelValues), text: this.text.forward(inputIds, textMask) };
  }
}
