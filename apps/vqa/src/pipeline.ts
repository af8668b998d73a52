import { join } from 'node:path';
import { prepareRunDir, UsageError, writeJsonAtomic } from '@polymodal/app-kit';
import { getBackend, manualSeed, setBackend } from '@polymodal/tensor';
import { saveVqaBundle } from './bundle.js';
import type { VqaRunConfig } from './config.js';
import type { MaskingVocabulary } from './data/caption-batches.js';
import { splitOfTypes } from './data/curriculum-batches.js';
import {
  buildVocabularies,
  encodeSplit,
  readSplit,
  type SplitSource,
  type Vocabularies,
  type VqaSplit,
  vqaImageProcessor,
} from './data/dataset.js';
import { ensureGenerated } from './data/generate.js';
import { formatReport, type VqaReport } from './evaluation/evaluate.js';
import { VqaModel, type VqaModelConfig } from './model/vqa-model.js';
import { type CurvePoint, finetune, type LiveSummary, summarizeLive } from './training/finetune.js';
import { pretrain } from './training/pretrain.js';

/** What a run produced. */
export interface VqaRunResult {
  config: VqaRunConfig;
  backend: string;
  parameters: number;
  pretrainSteps: number;
  /** Final value of each pretraining loss (empty without pretraining). */
  pretrainLosses: Record<string, number>;
  steps: number;
  resumedFrom: number | null;
  curve: CurvePoint[];
  /** Live tensors/bytes from step 2 to the end of fine-tuning (flat: the loop does not leak). */
  live: LiveSummary | null;
  report: VqaReport;
  seconds: { data: number; pretrain: number; finetune: number; total: number };
  bundleDir: string;
}

/** Prepared data: the two encoded splits and the vocabularies of the training split. */
export interface PreparedData {
  sources: { train: SplitSource; val: SplitSource };
  train: VqaSplit;
  val: VqaSplit;
  vocab: Vocabularies;
}

/** Reads (and tokenizes, and preprocesses) a train and a validation split for a model input size. */
export async function prepareData(
  sources: { train: SplitSource; val: SplitSource },
  imageSize: number,
  log: (line: string) => void,
): Promise<PreparedData> {
  const [rawTrain, rawVal] = [await readSplit(sources.train), await readSplit(sources.val)];
  const vocab = buildVocabularies(rawTrain);
  const processor = vqaImageProcessor(imageSize);
  const train = await encodeSplit(rawTrain, vocab, processor);
  const val = await encodeSplit(rawVal, vocab, processor);
  log(
    `data: ${train.examples.length} train / ${val.examples.length} val questions on ${train.images.length} / ${val.images.length} images, ${train.captions.length} captions, ${vocab.tokenizer.vocabSize} tokens, ${vocab.answers.size} answers`,
  );
  return { sources, train, val, vocab };
}

/** The architecture for a run's model settings and vocabularies. */
export function modelConfigOf(config: VqaRunConfig, vocab: Vocabularies): VqaModelConfig {
  return {
    imageSize: config.data.imageSize,
    ...config.model,
    vocabSize: vocab.tokenizer.vocabSize,
    padId: vocab.tokenizer.padId,
    maxTextLength: vocab.maxLength,
    numAnswers: vocab.answers.size,
    seed: config.seed,
  };
}

/** Token ids the masked-word objective never hides: specials and function words. */
export function maskingVocabulary(vocab: Vocabularies): MaskingVocabulary & { vocabSize: number } {
  const t = vocab.tokenizer;
  const never = new Set<number>(['pad', 'unk', 'cls', 'sep', 'mask'].map((r) => t.specialId(r as 'pad')));
  for (const w of ['a', 'an', 'the', 'of', 'to', 'is', '.', ',']) {
    const id = t.vocab.get(w);
    if (id !== undefined) never.add(id);
  }
  return { padId: t.padId, maskId: t.specialId('mask'), neverMasked: never, vocabSize: t.vocabSize };
}

/** Log-odds prior of each answer class from the training labels. */
function answerFrequencies(train: VqaSplit, numAnswers: number): number[] {
  const counts = new Array<number>(numAnswers).fill(0);
  let n = 0;
  for (const e of train.examples)
    if (e.label >= 0) {
      counts[e.label]!++;
      n++;
    }
  return counts.map((c) => c / Math.max(1, n));
}

/**
 * The whole demo: generate Sort-of-CLEVR (once), read it back in the VQA v2 layout, pretrain on the
 * captions (masked words + ITC + ITM), fine-tune on the questions with layer-wise LR decay, report
 * the official VQA accuracy per question type against a blind baseline, and save a bundle.
 */
export async function runVqaPipeline(
  config: VqaRunConfig,
  log: (line: string) => void = console.log,
  /** Data already read for this config (e.g. by a script that trains several models on it). */
  prepared?: PreparedData,
): Promise<VqaRunResult> {
  const t0 = performance.now();
  if (config.backend) setBackend(config.backend);
  manualSeed(config.seed);
  const run = await prepareRunDir(config.runDir, {
    resume: config.resume,
    config,
    // What positions the fine-tuning data stream: a resume with other values would continue another one.
    resumeMustMatch: {
      '--seed': config.seed,
      '--images-per-batch': config.finetune.imagesPerBatch,
      '--questions-per-image': config.finetune.questionsPerImage,
      '--curriculum': config.finetune.curriculum ?? null,
    },
  });
  run.notes.forEach(log);
  log(`backend: ${getBackend()}`);
  const data = prepared ?? (await prepareData(await runSources(config, log), config.data.imageSize, log));
  const { sources } = data;
  const trainImages = new Set(data.train.examples.map((e) => e.imageIndex)).size;
  if (config.finetune.imagesPerBatch > trainImages)
    throw new UsageError(
      `--images-per-batch ${config.finetune.imagesPerBatch} is more than the ${trainImages} training images with questions in ${sources.train.root} (${sources.train.split})`,
    );
  const curriculum = config.finetune.curriculum;
  if (curriculum) {
    // Checked before pretraining spends a minute: unknown types, or types with too few images.
    const known = new Set(data.train.examples.map((e) => e.questionType));
    const unknown = curriculum.questionTypes.filter((t) => !known.has(t));
    if (unknown.length > 0)
      throw new UsageError(
        `--curriculum: ${unknown.map((t) => `'${t}'`).join(', ')} not a question type of ${sources.train.root} (${sources.train.split}); its types: ${[...known].sort().join(', ')}`,
      );
    const images = new Set(
      splitOfTypes(data.train, curriculum.questionTypes).examples.map((e) => e.imageIndex),
    );
    if (images.size < config.finetune.imagesPerBatch)
      throw new UsageError(
        `--curriculum: ${images.size} training images have questions of ${curriculum.questionTypes.join(', ')}, fewer than --images-per-batch ${config.finetune.imagesPerBatch}`,
      );
  }
  const t1 = performance.now();

  const model = new VqaModel(modelConfigOf(config, data.vocab));
  model.setAnswerPrior(answerFrequencies(data.train, data.vocab.answers.size));
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  log(`model: ${parameters.toLocaleString('en-US')} parameters, fusion '${config.model.fusion.type}'`);

  let pretrainLosses: Record<string, number> = {};
  const pretrainSteps = data.train.captions.length > 0 ? config.pretrain.steps : 0;
  if (config.pretrain.steps > 0 && pretrainSteps === 0)
    log('no captions in the training split: pretraining skipped');
  if (pretrainSteps > 0) {
    log(
      `pretraining ${pretrainSteps} steps on ${data.train.captions.length} captions (masked words + ITC + ITM)`,
    );
    const r = await pretrain(
      model,
      data.train,
      maskingVocabulary(data.vocab),
      {
        ...config.pretrain,
        steps: pretrainSteps,
        seed: config.seed,
        resume: config.resume,
        progress: config.progress,
      },
      run.root,
      log,
    );
    pretrainLosses = r.history.train.at(-1)?.losses ?? {};
  }
  const t2 = performance.now();

  const answerList = data.vocab.answers.answers;
  const { result, curve, last, liveTrace } = await finetune(
    model,
    data.train,
    data.val,
    answerList,
    data.vocab.tokenizer.padId,
    { ...config.finetune, seed: config.seed, resume: config.resume, progress: config.progress },
    run.root,
    log,
  );
  const t3 = performance.now();
  const report = last!;
  const bundleDir = join(run.root, 'bundle');
  await saveVqaBundle(bundleDir, {
    model,
    tokenizer: data.vocab.tokenizer,
    answers: answerList,
    trainingArgs: config,
  });
  const seconds = {
    data: (t1 - t0) / 1000,
    pretrain: (t2 - t1) / 1000,
    finetune: (t3 - t2) / 1000,
    total: (performance.now() - t0) / 1000,
  };
  const out: VqaRunResult = {
    config,
    backend: getBackend(),
    parameters,
    pretrainSteps,
    pretrainLosses,
    steps: result.state.step,
    resumedFrom: result.resumedFrom,
    curve,
    live: summarizeLive(liveTrace),
    report,
    seconds,
    bundleDir,
  };
  const { predictions: _p, perQuestion: _q, ...summary } = report;
  await writeJsonAtomic(join(run.root, 'results.json'), { ...out, report: summary });
  return out;
}

/** Where a run's data is: the `--data` folder, or the generated scenes (made once). */
export async function runSources(
  config: VqaRunConfig,
  log: (line: string) => void,
): Promise<{ train: SplitSource; val: SplitSource }> {
  const d = config.dataset;
  if (!d) return ensureGenerated(config.data, config.seed, log);
  log(`data: ${d.dir} (${d.trainSplit} / ${d.valSplit}), images resized to ${config.data.imageSize} px`);
  return { train: { root: d.dir, split: d.trainSplit }, val: { root: d.dir, split: d.valSplit } };
}

/** The run as the CLI prints it. */
export function formatRun(r: VqaRunResult): string {
  const s = r.seconds;
  return [
    formatReport(r.report),
    '',
    `${r.pretrainSteps} pretraining + ${r.steps} fine-tuning steps on ${r.backend}${r.resumedFrom !== null ? ` (resumed from step ${r.resumedFrom})` : ''}: ${s.total.toFixed(0)} s (data ${s.data.toFixed(0)} s, pretraining ${s.pretrain.toFixed(0)} s, fine-tuning ${s.finetune.toFixed(0)} s)`,
    ...(r.live
      ? [
          `live tensors from step ${r.live.fromStep} to the end: ${r.live.tensors.first} → ${r.live.tensors.last} (max ${r.live.tensors.max}), ${(r.live.bytes.first / 2 ** 20).toFixed(1)} → ${(r.live.bytes.last / 2 ** 20).toFixed(1)} MB`,
        ]
      : []),
    `bundle: ${r.bundleDir}`,
  ].join('\n');
}
