import type { ConvStemLayer } from '@polymodal/nn';

/** How the image tower pools its cells: their mean, or learned queries attending to them. */
export type ImagePool = 'mean' | 'attention';
/** How the text tower pools its tokens: the [CLS] state, or the masked mean. */
export type TextPool = 'cls' | 'mean';
/**
 * The ITM head that scores (image, caption) pairs for re-ranking: `fusion`, the co-attention
 * `IntermediateFusion` over both towers' sequences; `readout`, `ReadoutItm` over the two
 * embeddings' scene read-outs (needs the scene probes, i.e. generated data with scene annotations).
 */
export type ItmHead = 'fusion' | 'readout';
export const ITM_HEADS = ['readout', 'fusion'] as const satisfies readonly ItmHead[];

/** The model's shape: everything a bundle needs to rebuild it (saved as the bundle's `config.json`). */
export interface ModelConfig {
  imageSize: number;
  /** The BatchNorm conv stem's 3×3 layers (channels, stride). */
  stem: ConvStemLayer[];
  imagePool: ImagePool;
  /** Learned queries of the attention pooling. */
  poolQueries: number;
  textPool: TextPool;
  /** Width inside both towers and the ITM fusion. */
  dModel: number;
  /** Width of the joint embedding space (the index's dimension). */
  embedDim: number;
  imageLayers: number;
  textLayers: number;
  numHeads: number;
  dimFeedforward: number;
  /** Co-attention layers of the ITM fusion (`IntermediateFusion`). */
  fusionLayers: number;
  dropout: number;
  /**
   * Training-only linear heads that read the scene back from the cells and both embeddings
   * (`SceneProbes`); absent (false) in bundles of the earlier recipe.
   */
  sceneProbes?: boolean;
  /** The ITM head; absent in bundles written before the option existed, which are `fusion`. */
  itmHead?: ItmHead;
  vocabSize: number;
  padId: number;
  /** Longest token sequence (with [CLS]/[SEP]) the text tower has positions for. */
  maxLength: number;
  seed: number;
}

/**
 * Everything the `train` command reads: the model's shape (but the tokenizer's numbers, which come
 * from the data) and the run's settings.
 */
export interface TrainConfig extends Omit<ModelConfig, 'vocabSize' | 'padId' | 'maxLength' | 'itmHead'> {
  dataDir: string;
  runDir: string;
  /** Generated training images (groups of an original and 3 distractors). */
  trainImages: number;
  /** Generated test images (the default evaluation set). */
  testImages: number;
  /** Groups per batch: each brings its original and its distractors (in-batch hard negatives). */
  groupsPerBatch: number;
  /** Whole groups per batch, or 4 × groupsPerBatch images at random. */
  batching: 'groups' | 'random';
  steps: number;
  learningRate: number;
  weightDecay: number;
  /** Warmup as a fraction of the steps. */
  warmupRatio: number;
  /** Weight of the ITM loss next to the contrastive one. */
  itmWeight: number;
  // The recipe that needs the generator's scene annotations (off, with a note, on data without
  // them); 0 everywhere is the earlier recipe (the image's own two captions, ITC + ITM).
  /** Captions per image per step from every ordered object pair in a clear relation (0: its own captions). */
  capsPerImage: number;
  /** Generated false captions per image per step, extra image→text contrastive negatives. */
  negCaps: number;
  /** Of those, per image, how many are also ITM negatives (≤ negCaps). */
  itmGenNeg: number;
  /** Weight of the per-cell object-kind loss. */
  auxWeight: number;
  /** Weight of the read-out losses on both embeddings (needs capsPerImage > 0). */
  auxEmbedWeight: number;
  /**
   * `--itm-head`; absent: `readout` when the read-outs are on (auxEmbedWeight > 0, the default),
   * else `fusion` (see {@link itmHeadOf}). Data without scene annotations falls back to `fusion`.
   */
  itmHead?: ItmHead;
  checkpointEvery: number;
  backend?: string;
  resume: boolean;
  progress: 'auto' | 'bar' | 'log' | 'none';
}

export const DEFAULT_TRAIN: TrainConfig = {
  dataDir: 'data/retrieval',
  runDir: 'runs/retrieval',
  trainImages: 8000,
  testImages: 1000,
  imageSize: 48,
  stem: [
    { channels: 32, stride: 2 },
    { channels: 64, stride: 2 },
    { channels: 64, stride: 2 },
  ],
  imagePool: 'attention',
  poolQueries: 8,
  textPool: 'cls',
  dModel: 64,
  embedDim: 64,
  imageLayers: 1,
  textLayers: 1,
  numHeads: 4,
  dimFeedforward: 128,
  fusionLayers: 1,
  dropout: 0,
  groupsPerBatch: 8,
  batching: 'random',
  steps: 3000,
  learningRate: 3e-3,
  weightDecay: 0.05,
  warmupRatio: 0.1,
  itmWeight: 1,
  capsPerImage: 8,
  negCaps: 2,
  itmGenNeg: 1,
  auxWeight: 1,
  auxEmbedWeight: 1,
  checkpointEvery: 100,
  seed: 1,
  resume: false,
  progress: 'auto',
};

/** `--quick`: seconds, to check the pipeline end to end. */
export const QUICK_TRAIN: Partial<TrainConfig> = {
  trainImages: 96,
  testImages: 48,
  steps: 12,
  groupsPerBatch: 4,
  checkpointEvery: 6,
  imageLayers: 1,
};

/** The ITM head a training config asks for: `--itm-head`, else `readout` when the read-outs are on. */
export function itmHeadOf(c: Pick<TrainConfig, 'itmHead' | 'auxEmbedWeight'>): ItmHead {
  return c.itmHead ?? (c.auxEmbedWeight > 0 ? 'readout' : 'fusion');
}

/** The model part of a training config plus the tokenizer's numbers. */
export function modelConfigOf(
  c: TrainConfig,
  tokenizer: { vocabSize: number; padId: number; maxLength: number },
): ModelConfig {
  return {
    imageSize: c.imageSize,
    stem: c.stem,
    imagePool: c.imagePool,
    poolQueries: c.poolQueries,
    textPool: c.textPool,
    dModel: c.dModel,
    embedDim: c.embedDim,
    imageLayers: c.imageLayers,
    textLayers: c.textLayers,
    numHeads: c.numHeads,
    dimFeedforward: c.dimFeedforward,
    fusionLayers: c.fusionLayers,
    dropout: c.dropout,
    ...(c.auxWeight > 0 || c.auxEmbedWeight > 0 ? { sceneProbes: true } : {}),
    itmHead: itmHeadOf(c),
    seed: c.seed,
    ...tokenizer,
  };
}
