import {
  LearnedPositionalEmbedding,
  paddingMaskFromAttentionMask,
  sinCos2dPositionalEncoding,
  TransformerEncoder,
} from '@polymodal/attention';
import { IntermediateFusion } from '@polymodal/fusion';
import { ContrastiveLoss, l2Normalize } from '@polymodal/losses';
import { Conv2d, Embedding, GELU, LayerNorm, Linear, Module, PatchEmbedding } from '@polymodal/nn';
import { ArgumentError, Generator, scope, type Tensor } from '@polymodal/tensor';
import type { ModelConfig } from './config.js';

function encoder(c: ModelConfig, layers: number, generator: Generator): TransformerEncoder {
  return new TransformerEncoder(
    {
      dModel: c.dModel,
      nHead: c.numHeads,
      dimFeedforward: c.dimFeedforward,
      dropout: c.dropout,
      activation: 'gelu',
      normFirst: true,
      generator,
    },
    layers,
    { norm: new LayerNorm(c.dModel) },
  );
}

/** Masked mean over the sequence: `[B, L, D]`, mask `[B, L]` (true = real) → `[B, D]`. */
export function maskedMean(x: Tensor, mask: Tensor | null): Tensor {
  return scope(() => {
    if (!mask) return x.mean(1);
    const m = mask.float().unsqueeze(-1);
    return x.mul(m).sum(1).div(m.sum(1).maximum(1));
  });
}

/**
 * Image tower: an optional 3×3 convolution stem (a small local feature extractor before the
 * patches, as in "Early Convolutions Help Transformers See Better", Xiao et al. 2021), ViT patch
 * embedding, fixed 2-D sin-cos positions, a pre-norm Transformer; `sequence` gives the patch
 * states (for the ITM fusion), `embed` their mean, projected.
 */
export class ImageEncoder extends Module {
  readonly stem: Conv2d | null;
  readonly act: GELU;
  readonly patches: PatchEmbedding;
  readonly positions: Tensor;
  readonly encoder: TransformerEncoder;
  readonly projection: Linear;

  constructor(c: ModelConfig, generator: Generator) {
    super();
    if (c.imageSize % c.patchSize !== 0) {
      throw new ArgumentError(
        'ImageEncoder',
        `imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`,
      );
    }
    const grid = c.imageSize / c.patchSize;
    this.stem =
      c.stemChannels > 0
        ? this.registerModule('stem', new Conv2d(3, c.stemChannels, 3, { padding: 1, generator }))
        : null;
    this.act = this.registerModule('act', new GELU());
    this.patches = this.registerModule(
      'patches',
      new PatchEmbedding(c.imageSize, c.patchSize, c.dModel, {
        inChannels: c.stemChannels > 0 ? c.stemChannels : 3,
        generator,
      }),
    );
    this.positions = this.registerBuffer('positions', sinCos2dPositionalEncoding(grid, grid, c.dModel))!;
    this.encoder = this.registerModule('encoder', encoder(c, c.imageLayers, generator));
    this.projection = this.registerModule('projection', new Linear(c.dModel, c.embedDim, { generator }));
  }

  /** `[B, 3, H, W]` → patch states `[B, N, dModel]`. */
  sequence(pixelValues: Tensor): Tensor {
    return scope(() => {
      const x = this.stem ? (this.act.forward(this.stem.forward(pixelValues)) as Tensor) : pixelValues;
      return this.encoder.forward(this.patches.forward(x).add(this.positions));
    });
  }

  /** Patch states → `[B, embedDim]` (not normalised). */
  embed(sequence: Tensor): Tensor {
    return scope(() => this.projection.forward(sequence.mean(1)));
  }

  override forward(pixelValues: Tensor): Tensor {
    return scope(() => this.embed(this.sequence(pixelValues)));
  }
}

/** Text tower: tokens + learned positions → pre-norm Transformer (padding masked) → masked mean → projection. */
export class TextEncoder extends Module {
  readonly tokens: Embedding;
  readonly positions: LearnedPositionalEmbedding;
  readonly encoder: TransformerEncoder;
  readonly projection: Linear;

  constructor(c: ModelConfig, generator: Generator) {
    super();
    this.tokens = this.registerModule(
      'tokens',
      new Embedding(c.vocabSize, c.dModel, { paddingIdx: c.padId, generator }),
    );
    this.positions = this.registerModule(
      'positions',
      new LearnedPositionalEmbedding(c.maxLength, c.dModel, { generator }),
    );
    this.encoder = this.registerModule('encoder', encoder(c, c.textLayers, generator));
    this.projection = this.registerModule('projection', new Linear(c.dModel, c.embedDim, { generator }));
  }

  /** `inputIds [B, L]` int32, `textMask [B, L]` bool (true = real) → token states `[B, L, dModel]`. */
  sequence(inputIds: Tensor, textMask: Tensor): Tensor {
    return scope(() =>
      this.encoder.forward(this.positions.forward(this.tokens.forward(inputIds)), {
        srcKeyPaddingMask: paddingMaskFromAttentionMask(textMask),
      }),
    );
  }

  embed(sequence: Tensor, textMask: Tensor): Tensor {
    return scope(() => this.projection.forward(maskedMean(sequence, textMask)));
  }

  override forward(inputIds: Tensor, textMask: Tensor): Tensor {
    return scope(() => this.embed(this.sequence(inputIds, textMask), textMask));
  }
}

/**
 * The retrieval model: a CLIP-style dual encoder (Radford et al. 2021) — image and text towers
 * into one embedding space, with CLIP's contrastive loss and learnable temperature (`itc`) — plus
 * an image–text matching head (ALBEF, Li et al. 2021): `@polymodal/fusion`'s `IntermediateFusion`
 * (two streams that cross-attend to each other, ViLBERT-style co-attention) over both towers'
 * sequences, with a 2-way output (no match / match), used to re-rank the dual encoder's top k.
 *
 * ```ts
 * const model = new RetrievalModel(config);
 * const img = model.image.sequence(pixels);                 // [B, N, d]
 * const txt = model.text.sequence(ids, mask);               // [B, L, d]
 * model.itmLogits(img, txt, mask);                          // [B, 2]
 * ```
 */
export class RetrievalModel extends Module {
  readonly image: ImageEncoder;
  readonly text: TextEncoder;
  readonly itm: IntermediateFusion;
  readonly itc: ContrastiveLoss;
  /** Draws the ITM hard negatives; checkpointed with the model's other generators. */
  readonly negativeGenerator: Generator;

  constructor(readonly config: ModelConfig) {
    super();
    // One generator per part: initialisation draws from it, dropout keeps drawing from it.
    const gens = [0, 1, 2, 3].map((k) => new Generator(config.seed * 7919 + k));
    this.negativeGenerator = gens[3]!;
    this.image = this.registerModule('image', new ImageEncoder(config, gens[0]!));
    this.text = this.registerModule('text', new TextEncoder(config, gens[1]!));
    this.itm = this.registerModule(
      'itm',
      new IntermediateFusion({
        inputDims: { image: config.dModel, text: config.dModel },
        dModel: config.dModel,
        numLayers: config.fusionLayers,
        crossLayers: Array.from({ length: config.fusionLayers }, (_, i) => i),
        numHeads: config.numHeads,
        dimFeedforward: config.dimFeedforward,
        dropout: config.dropout,
        outputDim: 2,
        generator: gens[2]!,
      }),
    );
    this.itc = this.registerModule('itc', new ContrastiveLoss());
  }

  /** Both towers' normalised embeddings: `{ image [B, e], text [B, e] }`. */
  override forward(pixelValues: Tensor, inputIds: Tensor, textMask: Tensor): { image: Tensor; text: Tensor } {
    return { image: this.embedImages(pixelValues), text: this.embedTexts(inputIds, textMask) };
  }

  /** L2-normalised image embeddings `[B, embedDim]`. */
  embedImages(pixelValues: Tensor): Tensor {
    return scope(() => l2Normalize(this.image.forward(pixelValues)));
  }

  /** L2-normalised text embeddings `[B, embedDim]`. */
  embedTexts(inputIds: Tensor, textMask: Tensor): Tensor {
    return scope(() => l2Normalize(this.text.forward(inputIds, textMask)));
  }

  /** ITM logits `[B, 2]` (column 1 = match) for paired image and text sequences. */
  itmLogits(imageSequence: Tensor, textSequence: Tensor, textMask: Tensor): Tensor {
    return this.itm.forward({ image: imageSequence, text: textSequence }, { text: textMask }).fused;
  }

  /** `log p(match) − log p(no match)`: the re-ranking score, `[B]`. */
  itmScore(imageSequence: Tensor, textSequence: Tensor, textMask: Tensor): Tensor {
    return scope(() => {
      const logits = this.itmLogits(imageSequence, textSequence, textMask);
      return logits
        .slice(1, 1, 2)
        .sub(logits.slice(1, 0, 1))
        .reshape([logits.shape[0]!]);
    });
  }
}
