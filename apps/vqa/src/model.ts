import { EarlyFusion } from '@polymodal/fusion';
import { Embedding, MLP, Module, PatchEmbedding } from '@polymodal/nn';
import { ShapeError, type Tensor } from '@polymodal/tensor';
import type { VqaConfig } from './config.js';

/**
 * A small ViLT (Kim et al. 2021): image patches (ViT patch embedding) and question tokens are
 * tagged with modality-type and position embeddings, joined into one sequence and encoded by a
 * shared Transformer (`EarlyFusion` from @polymodal/fusion); the `[CLS]` output feeds an MLP that
 * scores every answer of the vocabulary.
 *
 * `forward(pixelValues [B,3,H,W], inputIds [B,L] int32, textMask [B,L] bool) → logits [B, numAnswers]`
 */
export class VqaModel extends Module {
  readonly patches: PatchEmbedding;
  readonly tokens: Embedding;
  readonly fusion: EarlyFusion;
  readonly head: MLP;

  constructor(
    config: Pick<
      VqaConfig,
      'imageSize' | 'patchSize' | 'dModel' | 'numLayers' | 'numHeads' | 'dimFeedforward' | 'dropout' | 'seed'
    >,
    vocabSize: number,
    numAnswers: number,
    padId: number,
    maxTextLength: number,
  ) {
    super();
    if (config.imageSize % config.patchSize !== 0) {
      throw new ShapeError(
        'VqaModel',
        `imageSize ${config.imageSize} is not a multiple of patchSize ${config.patchSize}`,
      );
    }
    const d = config.dModel;
    const numPatches = (config.imageSize / config.patchSize) ** 2;
    this.patches = this.registerModule(
      'patches',
      new PatchEmbedding(config.imageSize, config.patchSize, d, { seed: config.seed }),
    );
    this.tokens = this.registerModule(
      'tokens',
      new Embedding(vocabSize, d, { paddingIdx: padId, seed: config.seed + 1 }),
    );
    this.fusion = this.registerModule(
      'fusion',
      new EarlyFusion({
        inputDims: { image: d, text: d },
        dModel: d,
        numLayers: config.numLayers,
        numHeads: config.numHeads,
        dimFeedforward: config.dimFeedforward,
        dropout: config.dropout,
        maxPositions: Math.max(numPatches, maxTextLength),
        pooling: 'cls',
        seed: config.seed + 2,
      }),
    );
    this.head = this.registerModule(
      'head',
      new MLP(d, [2 * d, numAnswers], { activation: 'gelu', seed: config.seed + 3 }),
    );
  }

  override forward(pixelValues: Tensor, inputIds: Tensor, textMask: Tensor): Tensor {
    const { fused } = this.fusion.forward(
      { image: this.patches.forward(pixelValues), text: this.tokens.forward(inputIds) },
      { text: textMask },
    );
    return this.head.forward(fused);
  }
}
