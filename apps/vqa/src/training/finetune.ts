import { join } from 'node:path';
import { resolveWarmup } from '@polymodal/app-kit';
import { AdamW, freezeParameters, getScheduler, type TrainResult } from '@polymodal/finetune';
import { Trainer } from '@polymodal/finetune/node';
import { answerCrossEntropyLoss } from '@polymodal/losses';
import { updateBatchNorm } from '@polymodal/nn';
import { Generator, memory } from '@polymodal/tensor';
import { ImageGroupedBatches, type VqaBatch } from '../data/batches.js';
import { CurriculumBatches, type QuestionTypeCurriculum, splitOfTypes } from '../data/curriculum-batches.js';
import type { VqaSplit } from '../data/dataset.js';
import { predictAnswers, scorePredictions, type VqaReport } from '../evaluation/evaluate.js';
import type { VqaModel } from '../model/vqa-model.js';
import { vqaParamGroups } from './layer-groups.js';

/** Training batches that recompute the BatchNorm statistics before each evaluation. */
const BATCH_NORM_BATCHES = 8;

export interface FinetuneSettings {
  steps: number;
  lr: number;
  weightDecay: number;
  warmupRatio: number;
  /** Layer-wise LR decay per depth (1 = none). */
  layerDecay: number;
  /** Parameter-name patterns kept frozen (e.g. `image.*`); empty = train everything. */
  freeze: string[];
  imagesPerBatch: number;
  questionsPerImage: number;
  /** Start with only these question types for this many steps (null or absent: none). */
  curriculum?: QuestionTypeCurriculum | null;
  /** Evaluate on the validation split every N steps (0 = only at the end). */
  evalEvery: number;
  seed: number;
  checkpointEvery: number;
  resume: boolean;
  progress: 'auto' | 'bar' | 'log' | 'none';
}

/** Live tensors and bytes after one optimizer step: flat after warm-up when nothing leaks. */
export interface LivePoint {
  step: number;
  tensors: number;
  bytes: number;
}

/** Live memory over a run: from the second step (the optimizer's state exists) to the last. */
export interface LiveSummary {
  fromStep: number;
  tensors: { first: number; min: number; max: number; last: number };
  bytes: { first: number; min: number; max: number; last: number };
}

export function summarizeLive(trace: readonly LivePoint[]): LiveSummary | null {
  const t = trace.slice(1);
  if (t.length === 0) return null;
  const span = (f: (p: LivePoint) => number) => {
    const v = t.map(f);
    return {
      first: v[0]!,
      min: v.reduce((a, b) => Math.min(a, b)),
      max: v.reduce((a, b) => Math.max(a, b)),
      last: v.at(-1)!,
    };
  };
  return { fromStep: t[0]!.step, tensors: span((p) => p.tensors), bytes: span((p) => p.bytes) };
}

/** One point of the learning curve. */
export interface CurvePoint {
  step: number;
  seconds: number;
  overall: number;
  nonRelational: number;
  relational: number;
  /** Live tensors and their bytes after this step (before evaluating): flat when nothing leaks. */
  liveTensors: number;
  liveBytes: number;
  /** Seconds this evaluation took (not training time). */
  evalSeconds: number;
}

/**
 * Stage 2: trains the answer head and fine-tunes the rest on VQA with softmax cross-entropy over
 * the answers, AdamW with layer-wise LR decay (`layerDecay`) and warmup + cosine, gradient clipping
 * at 1, batches grouped by image, checkpoints under `<runDir>/checkpoints` (resumable), and the
 * official VQA accuracy on `val` every `evalEvery` steps (the learning curve).
 */
export async function finetune(
  model: VqaModel,
  train: VqaSplit,
  val: VqaSplit,
  answerList: readonly string[],
  padId: number,
  settings: FinetuneSettings,
  runDir: string,
  log: (line: string) => void,
): Promise<{ result: TrainResult; curve: CurvePoint[]; last: VqaReport | null; liveTrace: LivePoint[] }> {
  if (settings.freeze.length > 0) {
    const frozen = freezeParameters(model, settings.freeze);
    log(`frozen: ${frozen.length} parameter tensors (${settings.freeze.join(', ')})`);
  }
  const optimizer = new AdamW(
    vqaParamGroups(model.namedParameters(), {
      lr: settings.lr,
      decay: settings.layerDecay,
      weightDecay: settings.weightDecay,
    }),
    { lr: settings.lr },
  );
  const { warmupSteps } = resolveWarmup(settings.steps, { ratio: settings.warmupRatio });
  const scheduler = getScheduler('cosine', optimizer, {
    numWarmupSteps: warmupSteps,
    numTrainingSteps: settings.steps,
  });
  const allBatches = new ImageGroupedBatches(train, {
    imagesPerBatch: settings.imagesPerBatch,
    questionsPerImage: settings.questionsPerImage,
    padId,
    generator: new Generator(settings.seed * 31 + 3),
  });
  const curriculum = settings.curriculum;
  const batches =
    curriculum && curriculum.steps > 0
      ? new CurriculumBatches(
          new ImageGroupedBatches(splitOfTypes(train, curriculum.questionTypes), {
            imagesPerBatch: settings.imagesPerBatch,
            questionsPerImage: settings.questionsPerImage,
            padId,
            generator: new Generator(settings.seed * 31 + 7),
          }),
          allBatches,
          curriculum.steps,
        )
      : allBatches;
  const curve: CurvePoint[] = [];
  const liveTrace: LivePoint[] = [];
  let last: VqaReport | null = null;
  const started = performance.now();
  // Batches of their own for the BatchNorm statistics (so the training stream, and resuming it,
  // stays as it was).
  const statsBatches = new ImageGroupedBatches(train, {
    imagesPerBatch: settings.imagesPerBatch,
    questionsPerImage: settings.questionsPerImage,
    padId,
    generator: new Generator(settings.seed * 31 + 5),
  });
  let statsIterator = statsBatches[Symbol.iterator]();
  const nextStatsBatch = (): VqaBatch => {
    let r = statsIterator.next();
    if (r.done) {
      statsIterator = statsBatches[Symbol.iterator]();
      r = statsIterator.next();
    }
    return r.value as VqaBatch;
  };
  const evaluate = (step: number) => {
    const t = performance.now();
    // Running statistics are an average over older weights; measured on the FiLM model, evaluating
    // with them cost 5–10 points early in training. Recompute them for the weights evaluated (and
    // saved in the bundle).
    updateBatchNorm(
      model,
      () => {
        const b = nextStatsBatch();
        model.fuse(model.encodeImage(b.pixelValues), b.inputIds, b.mask, b.imageIndex);
      },
      BATCH_NORM_BATCHES,
    );
    const live = memory();
    last = scorePredictions(predictAnswers(model, val, answerList, padId), train.examples, val.examples);
    curve.push({
      step,
      seconds: (performance.now() - started) / 1000,
      overall: last.overall,
      nonRelational: last.nonRelational,
      relational: last.relational,
      liveTensors: live.tensors,
      liveBytes: live.bytes,
      evalSeconds: (performance.now() - t) / 1000,
    });
    log(
      `step ${step}: VQA accuracy ${(100 * last.overall).toFixed(1)}% (non-relational ${(100 * last.nonRelational).toFixed(1)}%, relational ${(100 * last.relational).toFixed(1)}%)`,
    );
  };
  const trainer = new Trainer<VqaBatch>({
    model,
    optimizer,
    scheduler,
    trainData: batches,
    computeLoss: (_m, b) => {
      const fused = model.fuse(model.encodeImage(b.pixelValues), b.inputIds, b.mask, b.imageIndex);
      return answerCrossEntropyLoss(model.head.forward(fused), b.labels).loss;
    },
    maxSteps: settings.steps,
    maxGradNorm: 1,
    checkpointDir: join(runDir, 'checkpoints'),
    checkpointEvery: settings.checkpointEvery,
    keepLast: 2,
    outputDir: runDir,
    progress: settings.progress,
    log,
    callbacks: [
      {
        onStepEnd: (_t, logs) => {
          const live = memory();
          liveTrace.push({ step: logs.step, tensors: live.tensors, bytes: live.bytes });
          if (settings.evalEvery > 0 && logs.step % settings.evalEvery === 0 && logs.step < settings.steps)
            evaluate(logs.step);
        },
      },
    ],
  });
  const result = await trainer.train({ resume: settings.resume });
  evaluate(result.state.step);
  return { result, curve, last, liveTrace };
}
