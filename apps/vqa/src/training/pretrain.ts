import { join } from 'node:path';
import { createOptimizer } from '@polymodal/app-kit';
import type { TrainResult } from '@polymodal/finetune';
import { Trainer } from '@polymodal/finetune/node';
import { Generator } from '@polymodal/tensor';
import { CaptionBatches, type MaskingVocabulary } from '../data/caption-batches.js';
import type { VqaSplit } from '../data/dataset.js';
import { PretrainingModel } from '../model/pretraining-heads.js';
import type { VqaModel } from '../model/vqa-model.js';

export interface PretrainSettings {
  steps: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  imagesPerBatch: number;
  captionsPerImage: number;
  /** Weights of the three losses in their sum. */
  weights: { mlm: number; itc: number; itm: number };
  seed: number;
  checkpointEvery: number;
  resume: boolean;
  progress: 'auto' | 'bar' | 'log' | 'none';
}

/**
 * Stage 1: pretrains the VQA model's stem, text encoder and fusion on image-caption pairs with
 * masked-word prediction + image-text contrastive + image-text matching (hard negatives), summed
 * with `weights` (the Trainer logs each loss). Checkpoints under `<runDir>/pretrain/checkpoints`
 * (resumable), metrics and report under `<runDir>/pretrain`. The heads are discarded afterwards;
 * `model` keeps what it learned.
 */
export async function pretrain(
  model: VqaModel,
  train: VqaSplit,
  vocabulary: MaskingVocabulary & { vocabSize: number },
  settings: PretrainSettings,
  runDir: string,
  log: (line: string) => void,
): Promise<TrainResult> {
  const wrapper = new PretrainingModel(model, vocabulary.vocabSize, settings.seed);
  const { optimizer, scheduler, notes } = createOptimizer(wrapper.namedParameters(), {
    lr: settings.lr,
    weightDecay: settings.weightDecay,
    steps: settings.steps,
    warmup: { ratio: settings.warmupRatio },
  });
  notes.forEach(log);
  const batches = new CaptionBatches(train, {
    imagesPerBatch: settings.imagesPerBatch,
    captionsPerImage: settings.captionsPerImage,
    vocabulary,
    generator: new Generator(settings.seed * 31 + 7),
  });
  const dir = join(runDir, 'pretrain');
  const trainer = new Trainer({
    model: wrapper,
    optimizer,
    scheduler,
    trainData: batches,
    computeLoss: (_m, b) => {
      const l = wrapper.losses(b);
      return { mlm: l.mlm, itc: l.itc, itm: l.itm };
    },
    lossWeights: settings.weights,
    maxSteps: settings.steps,
    maxGradNorm: 1,
    checkpointDir: join(dir, 'checkpoints'),
    checkpointEvery: settings.checkpointEvery,
    keepLast: 2,
    outputDir: dir,
    progress: settings.progress,
    log,
  });
  return trainer.train({ resume: settings.resume });
}
