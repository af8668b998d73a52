import {
  LearnedPositionalEmbedding,
  paddingMaskFromAttentionMask,
  TransformerEncoder,
} from '@polymodal/attention';
import { IntermediateFusion, maskedMean } from '@polymodal/fusion';
import { ContrastiveLoss, l2Normalize } from '@polymodal/losses';
import { ConvStem, Embedding, LayerNorm, Linear, Module } from '@polymodal/nn';
import { Generator, scope, type Tensor } from '@polymodal/tensor';
import { AttentionPool } from './attention-pool.js';
import { ITM_HEADS, type ItmHead, type ModelConfig } from './config.js';
import { ReadoutItm } from './readout-itm.js';
import { SceneProbes } from './scene-probes.js';

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

/**
 * Image tower: a BatchNorm conv stem whose cells carry their x and y (`ConvStem` from
 * `@polymodal/nn`, as in apps/vqa), a pre-norm Transformer over the cells, and a pooling into the
 * joint space — the mean of the cells, or learned queries attending to them (`AttentionPool`).
 * `sequence` gives the cell states (for the ITM fusion), `embed` the pooled, projected vector.
 *
 * BatchNorm is what gets a from-scratch model on these generated scenes to look at the image
 * (measured in apps/vqa and in this app's PyTorch twin); the coordinates let the layers above say
 * where an object is, which the captions' relations need.
 */
export class ImageEncoder extends Module {
  readonly stem: ConvStem;
  readonly encoder: TransformerEncoder;
  readonly pool: AttentionPool | null;
  readonly projection: Linear | null;

  constructor(c: ModelConfig, generator: Generator) {
    super();
    this.stem = this.registerModule(
      'stem',
      new ConvStem(c.imageSize, { layers: c.stem, outputDim: c.dModel, generator }),
    );
    this.encoder = this.registerModule('encoder', encoder(c, c.imageLayers, generator));
    if (c.imagePool === 'attention') {
      this.pool = this.registerModule(
        'pool',
        new AttentionPool(c.dModel, c.numHeads, c.poolQueries, c.embedDim, generator),
      );
      this.projection = null;
    } else {
      this.pool = null;
      this.projection = this.registerModule('projection', new Linear(c.dModel, c.embedDim, { generator }));
    }
  }

  /** `[B, 3, H, W]` → cell states `[B, h·w, dModel]`. */
  sequence(pixelValues: Tensor): Tensor {
    return scope(() => this.encoder.forward(this.stem.forward(pixelValues)));
  }

  /** Cell states → `[B, embedDim]` (not normalised). */
  embed(sequence: Tensor): Tensor {
    return scope(() =>
      this.pool ? this.pool.forward(sequence) : this.projection!.forward(sequence.mean(1)),
    );
  }

  override forward(pixelValues: Tensor): Tensor {
    return scope(() => this.embed(this.sequence(pixelValues)));
  }
}

/**
 * Text tower: tokens + learned positions → pre-norm Transformer (padding masked) → the [CLS]
 * state (or the masked mean) → projection. The [CLS] state is order-aware; a mean of token states
 * with additive positions is close to order-blind (e(red) + p3 + e(blue) + p9 and e(blue) + p3 +
 * e(red) + p9 are equal), and captions that differ only by swapped objects need the order.
 */
export class TextEncoder extends Module {
  readonly tokens: Embedding;
  readonly positions: LearnedPositionalEmbedding;
  readonly encoder: TransformerEncoder;
  readonly projection: Linear;
  readonly pool: ModelConfig['textPool'];

  constructor(c: ModelConfig, generator: Generator) {
    super();
    this.pool = c.textPool;
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
    return scope(() =>
      this.projection.forward(
        this.pool === 'cls' ? sequence.narrow(1, 0, 1).squeeze(1) : maskedMean(sequence, textMask),
      ),
    );
  }

  override forward(inputIds: Tensor, textMask: Tensor): Tensor {
    return scope(() => this.embed(this.sequence(inputIds, textMask), textMask));
  }
}

/**
 * The retrieval model: a CLIP-style dual encoder (Radford et al. 2021) — image and text towers
 * into one embedding space, with CLIP's contrastive loss and learnable temperature (`itc`) — plus
 * an image–text matching head with a 2-way output (no match / match), used to re-rank the dual
 * encoder's top k. `config.itmHead` picks it: `fusion` (ALBEF, Li et al. 2021), `@polymodal/fusion`'s
 * `IntermediateFusion` (two streams that cross-attend to each other, ViLBERT-style co-attention)
 * over both towers' sequences; `readout`, `ReadoutItm` over the scene probes' read-outs of the two
 * embeddings (the PyTorch twin's `ReadoutITM`; needs `sceneProbes`).
 *
 * ```ts
 * const model = new RetrievalModel(config);
 * const img = model.image.sequence(pixels);                 // [B, N, d]
 * const txt = model.text.sequence(ids, mask);               // [B, L, d]
 * model.itmLogits(img, txt, mask);                          // [B, 2], whichever the head
 * ```
 */
export class RetrievalModel extends Module {
  readonly image: ImageEncoder;
  readonly text: TextEncoder;
  /** Which ITM head `itm` is (`config.itmHead`; bundles without the key are `fusion`). */
  readonly itmHead: ItmHead;
  readonly itm: IntermediateFusion | ReadoutItm;
  readonly itc: ContrastiveLoss;
  /** Draws the ITM hard negatives; checkpointed with the model's other generators. */
  readonly negativeGenerator: Generator;
  /**
   * The scene read-outs (`config.sceneProbes`), else null: training-only with the `fusion` ITM head,
   * the `readout` head's inputs otherwise (saved in the bundle either way).
   */
  readonly probes: SceneProbes | null;

  constructor(readonly config: ModelConfig) {
    super();
    // One generator per part: initialisation draws from it, dropout keeps drawing from it.
    const gens = [0, 1, 2, 3].map((k) => new Generator(config.seed * 7919 + k));
    this.negativeGenerator = gens[3]!;
    this.itmHead = config.itmHead ?? 'fusion';
    if (!ITM_HEADS.includes(this.itmHead)) {
      throw new Error(`itmHead must be one of ${ITM_HEADS.join(', ')}, got '${this.itmHead}'`);
    }
    if (this.itmHead === 'readout' && !config.sceneProbes) {
      throw new Error("itmHead 'readout' reads the scene probes' read-outs: it needs sceneProbes");
    }
    this.image = this.registerModule('image', new ImageEncoder(config, gens[0]!));
    this.text = this.registerModule('text', new TextEncoder(config, gens[1]!));
    this.itm = this.registerModule(
      'itm',
      this.itmHead === 'readout'
        ? new ReadoutItm(gens[2]!)
        : new IntermediateFusion({
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
    // Its own generator, so that the other parts start exactly as in the earlier recipe.
    this.probes = config.sceneProbes
      ? this.registerModule(
          'probes',
          new SceneProbes(config.dModel, config.embedDim, new Generator(config.seed * 7919 + 4)),
        )
      : null;
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

  /** The image read-out `[B, colours · 8]` of image sequences (their embedding before normalisation). */
  imageReadout(imageSequence: Tensor): Tensor {
    return scope(() => this.requireProbes().imageReadout.forward(this.image.embed(imageSequence)));
  }

  /** The caption read-out `[B, 26]` of text sequences (their embedding before normalisation). */
  textReadout(textSequence: Tensor, textMask: Tensor): Tensor {
    return scope(() => this.requireProbes().textReadout.forward(this.text.embed(textSequence, textMask)));
  }

  /**
   * ITM logits `[B, 2]` (column 1 = match) for paired image and text sequences: the fusion over
   * both sequences, or (`readout`) `ReadoutItm` over the read-outs of their embeddings, as the
   * twin's `itm_logits`.
   */
  itmLogits(imageSequence: Tensor, textSequence: Tensor, textMask: Tensor): Tensor {
    if (this.itm instanceof ReadoutItm) {
      const head = this.itm;
      return scope(() =>
        head.forward(this.imageReadout(imageSequence), this.textReadout(textSequence, textMask)),
      );
    }
    return this.itm.forward({ image: imageSequence, text: textSequence }, { text: textMask }).fused;
  }

  /**
   * The `readout` head's logits `[B, 2]` from read-outs already computed (`imageReadout`,
   * `textReadout`): what training and re-ranking use to compute each image's and caption's
   * read-out once rather than once per pair.
   */
  itmLogitsFromReadouts(imageReadout: Tensor, textReadout: Tensor): Tensor {
    if (!(this.itm instanceof ReadoutItm)) {
      throw new Error(
        `itmLogitsFromReadouts needs the 'readout' ITM head; this model's is '${this.itmHead}'`,
      );
    }
    return this.itm.forward(imageReadout, textReadout);
  }

  /** `log p(match) − log p(no match)`: the re-ranking score, `[B]`. */
  itmScore(imageSequence: Tensor, textSequence: Tensor, textMask: Tensor): Tensor {
    return scope(() => matchScore(this.itmLogits(imageSequence, textSequence, textMask)));
  }

  /** The re-ranking score `[B]` of the `readout` head from read-outs already computed. */
  itmScoreFromReadouts(imageReadout: Tensor, textReadout: Tensor): Tensor {
    return scope(() => matchScore(this.itmLogitsFromReadouts(imageReadout, textReadout)));
  }

  private requireProbes(): SceneProbes {
    if (!this.probes) throw new Error('this model has no scene probes (config.sceneProbes): no read-outs');
    return this.probes;
  }
}

/** Logits `[B, 2]` → `logit(match) − logit(no match)` `[B]`. */
function matchScore(logits: Tensor): Tensor {
  return logits
    .slice(1, 1, 2)
    .sub(logits.slice(1, 0, 1))
    .reshape([logits.shape[0]!]);
}
