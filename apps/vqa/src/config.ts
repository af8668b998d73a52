/** Every knob of the VQA pipeline, with defaults sized to train in minutes on two CPU cores. */
export interface VqaConfig {
  /** Where the generated dataset lives (reused when already there). */
  dataDir: string;
  /** Checkpoints, metrics log, report and results. */
  runDir: string;
  trainImages: number;
  valImages: number;
  questionsPerImage: number;
  /** Image side in pixels and objects per scene (Sort-of-CLEVR: 75 px, 6 objects). */
  imageSize: number;
  objects: number;
  /** ViT patch side; imageSize must be a multiple. */
  patchSize: number;
  dModel: number;
  numLayers: number;
  numHeads: number;
  dimFeedforward: number;
  dropout: number;
  batchSize: number;
  maxSteps: number;
  learningRate: number;
  weightDecay: number;
  warmupSteps: number;
  evalEvery: number;
  checkpointEvery: number;
  seed: number;
  /** Tensor backend (`cpu`, `gpujs`, `wasm`, …); default: the library's choice. */
  backend?: string;
  resume: boolean;
  progress: 'auto' | 'bar' | 'log' | 'none';
}

export const DEFAULT_CONFIG: VqaConfig = {
  dataDir: 'data/sort-of-clevr',
  runDir: 'runs/vqa',
  trainImages: 1500,
  valImages: 200,
  questionsPerImage: 10,
  imageSize: 48,
  objects: 4,
  patchSize: 8,
  dModel: 64,
  numLayers: 2,
  numHeads: 4,
  dimFeedforward: 128,
  dropout: 0.1,
  batchSize: 64,
  maxSteps: 600,
  learningRate: 2e-3,
  weightDecay: 0.01,
  warmupSteps: 50,
  evalEvery: 200,
  checkpointEvery: 100,
  seed: 1,
  resume: false,
  progress: 'auto',
};

/** A tiny configuration for tests and smoke runs. */
export const QUICK_CONFIG: Partial<VqaConfig> = {
  trainImages: 120,
  valImages: 40,
  maxSteps: 30,
  evalEvery: 15,
  checkpointEvery: 10,
  warmupSteps: 5,
  batchSize: 32,
};
