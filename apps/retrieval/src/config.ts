/** Every knob of the retrieval pipeline, sized to train in a few minutes on two CPU cores. */
export interface RetrievalConfig {
  dataDir: string;
  runDir: string;
  trainImages: number;
  valImages: number;
  captionsPerImage: number;
  imageSize: number;
  objects: number;
  patchSize: number;
  /** Width inside both encoders and of the joint embedding space. */
  dModel: number;
  embedDim: number;
  numLayers: number;
  numHeads: number;
  dropout: number;
  batchSize: number;
  maxSteps: number;
  learningRate: number;
  weightDecay: number;
  warmupSteps: number;
  evalEvery: number;
  checkpointEvery: number;
  seed: number;
  backend?: string;
  resume: boolean;
  progress: 'auto' | 'bar' | 'log' | 'none';
}

export const DEFAULT_CONFIG: RetrievalConfig = {
  dataDir: 'data/sort-of-clevr-captions',
  runDir: 'runs/retrieval',
  trainImages: 1500,
  valImages: 100,
  captionsPerImage: 3,
  imageSize: 48,
  objects: 3,
  patchSize: 8,
  dModel: 64,
  embedDim: 64,
  numLayers: 1,
  numHeads: 4,
  dropout: 0,
  batchSize: 64,
  maxSteps: 400,
  learningRate: 2e-3,
  weightDecay: 0.05,
  warmupSteps: 40,
  evalEvery: 100,
  checkpointEvery: 100,
  seed: 1,
  resume: false,
  progress: 'auto',
};

export const QUICK_CONFIG: Partial<RetrievalConfig> = {
  trainImages: 96,
  valImages: 24,
  maxSteps: 20,
  evalEvery: 10,
  checkpointEvery: 10,
  warmupSteps: 4,
  batchSize: 32,
};
