import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { arrayDataset, DataLoader } from '@polymodal/data';
import { AdamW, getScheduler, paramGroupsWithWeightDecay, Trainer } from '@polymodal/finetune';
import type { RetrievalMetrics } from '@polymodal/losses';
import { saveModule } from '@polymodal/nn';
import { getBackend, manualSeed, setBackend } from '@polymodal/tensor';
import { DEFAULT_CONFIG, type RetrievalConfig } from './config.js';
import {
  collatePairs,
  prepareRetrievalData,
  type RetrievalBatch,
  type RetrievalPair,
  trainingPairs,
} from './data.js';
import { evaluateRetrieval } from './evaluate.js';
import { DualEncoder } from './model.js';

export interface RetrievalRunResult {
  config: RetrievalConfig;
  backend: string;
  steps: number;
  resumedFrom: number | null;
  seconds: number;
  metrics: RetrievalMetrics;
  /** Recall@1 of a random ranking, for scale: 1 / candidates. */
  chanceR1: { imageToText: number; textToImage: number };
}

/**
 * The image-text retrieval pipeline: scenes + captions (generate → COCO captions reader →
 * tokenizer), a CLIP-style dual encoder trained with the symmetric contrastive loss (captions of
 * the same image masked as duplicates), and Recall@K both ways on the validation split.
 */
export async function runRetrievalPipeline(
  overrides: Partial<RetrievalConfig> = {},
  log: (line: string) => void = console.log,
): Promise<RetrievalRunResult> {
  const config: RetrievalConfig = { ...DEFAULT_CONFIG, ...overrides };
  const started = performance.now();
  if (config.backend) setBackend(config.backend);
  manualSeed(config.seed);
  log(`backend: ${getBackend()}`);
  const data = await prepareRetrievalData(config, log);
  const padId = data.tokenizer.padId;
  const maxLength = Math.max(
    ...[...data.train, ...data.val].flatMap((im) => im.captionIds.map((c) => c.length)),
  );
  const model = new DualEncoder(config, data.tokenizer.vocabSize, padId, maxLength);
  log(
    `model: ${model
      .parameters()
      .reduce((n, p) => n + p.size, 0)
      .toLocaleString('en-US')} parameters`,
  );

  const optimizer = new AdamW(
    paramGroupsWithWeightDecay(model.namedParameters(), { weightDecay: config.weightDecay }),
    {
      lr: config.learningRate,
    },
  );
  const scheduler = getScheduler('cosine', optimizer, {
    numWarmupSteps: config.warmupSteps,
    numTrainingSteps: config.maxSteps,
  });
  const trainLoader = new DataLoader(arrayDataset(trainingPairs(data.train)), {
    batchSize: config.batchSize,
    shuffle: true,
    seed: config.seed,
    dropLast: true,
    collate: (pairs: RetrievalPair[]) => collatePairs(pairs, padId),
  });
  const trainer = new Trainer<RetrievalBatch>({
    model,
    optimizer,
    scheduler,
    trainData: trainLoader,
    computeLoss: (m, b) => {
      const dual = m as DualEncoder;
      const { image, text } = dual.forward(b.pixelValues, b.inputIds, b.textMask);
      // Two captions of one image in a batch are positives, not negatives, of each other's image.
      const duplicates = b.imageIds.map((a, i) => b.imageIds.map((c, j) => i !== j && a === c));
      return dual.itc.forward(image, text, { duplicateMask: duplicates }).loss;
    },
    maxSteps: config.maxSteps,
    maxGradNorm: 1,
    checkpointDir: join(config.runDir, 'checkpoints'),
    checkpointEvery: config.checkpointEvery,
    keepLast: 2,
    outputDir: config.runDir,
    progress: config.progress,
    callbacks: [{ onStepEnd: () => model.itc.clampLogitScale() }],
  });
  const result = await trainer.train({ resume: config.resume });
  const metrics = evaluateRetrieval(model, data.val, padId);
  const captions = data.val.reduce((n, im) => n + im.captions.length, 0);
  const chanceR1 = { imageToText: data.val[0]!.captions.length / captions, textToImage: 1 / data.val.length };
  await mkdir(config.runDir, { recursive: true });
  await saveModule(join(config.runDir, 'model.safetensors'), model);
  const seconds = (performance.now() - started) / 1000;
  const { imageToText, textToImage, meanRecall, rSum } = metrics;
  const strip = ({ ranks: _ranks, ...rest }: typeof imageToText) => rest;
  await writeFile(
    join(config.runDir, 'results.json'),
    `${JSON.stringify(
      {
        config,
        backend: getBackend(),
        steps: result.state.step,
        seconds,
        imageToText: strip(imageToText),
        textToImage: strip(textToImage),
        meanRecall,
        rSum,
        chanceR1,
        model: { vocabSize: data.tokenizer.vocabSize, padId, maxLength },
        temperature: 1 / Math.exp(model.itc.logitScale.item()),
      },
      null,
      2,
    )}\n`,
  );
  return {
    config,
    backend: getBackend(),
    steps: result.state.step,
    resumedFrom: result.resumedFrom,
    seconds,
    metrics,
    chanceR1,
  };
}

export function formatRetrievalResult(r: RetrievalRunResult): string {
  const f = (v: number) => v.toFixed(1).padStart(5);
  const { imageToText: i2t, textToImage: t2i } = r.metrics;
  return [
    `Recall@K (%) on ${r.metrics.imageToText.ranks.length} validation images and ${r.metrics.textToImage.ranks.length} captions:`,
    `  image→text  R@1 ${f(i2t.r1)}  R@5 ${f(i2t.r5)}  R@10 ${f(i2t.r10)}  median rank ${i2t.medianRank}`,
    `  text→image  R@1 ${f(t2i.r1)}  R@5 ${f(t2i.r5)}  R@10 ${f(t2i.r10)}  median rank ${t2i.medianRank}`,
    `  rSum ${r.metrics.rSum.toFixed(1)}   (random R@1: image→text ${(100 * r.chanceR1.imageToText).toFixed(1)}%, text→image ${(100 * r.chanceR1.textToImage).toFixed(1)}%)`,
    '',
    `${r.steps} steps on ${r.backend} in ${r.seconds.toFixed(0)} s${r.resumedFrom !== null ? ` (resumed from step ${r.resumedFrom})` : ''}`,
    `model, metrics.jsonl, report.html, results.json: ${r.config.runDir}`,
  ].join('\n');
}
