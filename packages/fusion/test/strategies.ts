/**
 * One entry per built-in strategy: how to build a tiny instance for given input widths, whether it
 * takes sequences, and whether the XOR test needs the MLP head on top of `fused`.
 */
import {
  AttentionFusion,
  BilinearFusion,
  ConcatFusion,
  DecisionFusion,
  EarlyFusion,
  FiLMFusion,
  type FusionModule,
  GatedFusion,
  HierarchicalFusion,
  IntermediateFusion,
  LateFusion,
  ProductFusion,
  RelationalFusion,
  SelfAttentionFusion,
  SumFusion,
} from '../src/index.js';

export interface StrategySpec {
  name: string;
  /** Takes `[B, L, D]` sequences in the tests (else pooled `[B, D]`). */
  sequence: boolean;
  build: (dims: Record<string, number>, seed: number, seqLen?: number) => FusionModule;
}

const tiny = { dModel: 8, numHeads: 2, numLayers: 1, dimFeedforward: 16, dropout: 0 };

export const STRATEGIES: StrategySpec[] = [
  {
    name: 'concat',
    sequence: false,
    build: (d, seed) => new ConcatFusion({ inputDims: d, outputDim: 8, seed }),
  },
  { name: 'sum', sequence: false, build: (d, seed) => new SumFusion({ inputDims: d, outputDim: 8, seed }) },
  {
    name: 'product',
    sequence: false,
    build: (d, seed) => new ProductFusion({ inputDims: d, outputDim: 8, seed }),
  },
  {
    name: 'gated',
    sequence: false,
    build: (d, seed) => new GatedFusion({ inputDims: d, outputDim: 8, seed }),
  },
  {
    name: 'bilinear',
    sequence: false,
    build: (d, seed) => new BilinearFusion({ inputDims: d, outputDim: 8, rank: 3, seed }),
  },
  {
    name: 'attention',
    sequence: false,
    build: (d, seed) => new AttentionFusion({ inputDims: d, outputDim: 8, seed }),
  },
  {
    name: 'late',
    sequence: false,
    build: (d, seed) => new LateFusion({ inputDims: d, hiddenDim: 8, outputDim: 8, seed }),
  },
  {
    name: 'early',
    sequence: true,
    build: (d, seed, seqLen) => new EarlyFusion({ inputDims: d, ...tiny, maxPositions: seqLen ?? 4, seed }),
  },
  {
    name: 'self-attention',
    sequence: true,
    build: (d, seed) => new SelfAttentionFusion({ inputDims: d, ...tiny, seed }),
  },
  {
    name: 'hierarchical',
    sequence: true,
    build: (d, seed) => new HierarchicalFusion({ inputDims: d, dModel: 8, numHeads: 2, seed }),
  },
  {
    name: 'intermediate',
    sequence: true,
    build: (d, seed) =>
      new IntermediateFusion({ inputDims: d, ...tiny, numLayers: 2, crossLayers: [1], seed }),
  },
  {
    name: 'film',
    sequence: true,
    build: (d, seed) => new FiLMFusion({ inputDims: d, hiddenDim: 8, numBlocks: 2, seed }),
  },
  {
    name: 'relational',
    sequence: true,
    build: (d, seed) => new RelationalFusion({ inputDims: d, hiddenDim: 8, seed }),
  },
  {
    name: 'decision',
    sequence: false,
    build: (d, seed) =>
      new DecisionFusion({ inputDims: d, numClasses: 2, hiddenDim: 8, combine: 'weighted', seed }),
  },
];
