import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { arrayDataset, DataLoader } from '@polymodal/data';
import { AdamW, getScheduler, paramGroupsWithWeightDecay, Trainer } from '@polymodal/finetune';
import { vqaAccuracy, vqaLoss } from '@polymodal/losses';
import { saveModule } from '@polymodal/nn';
import { argmax, getBackend, manualSeed, setBackend } from '@polymodal/tensor';
import { DEFAULT_CONFIG, type VqaConfig } from './config.js';
import { collateVqa, prepareVqaData, type VqaBatch, type VqaExample } from './data.js';
import { evaluateModel, type VqaReport } from './evaluate.js';
import { VqaModel } from './model.js';

export interface VqaRunResult {
  config: VqaConfig;
  backend: string;
  steps: number;
  resumedFrom: number | null;
  seconds: number;
  report: VqaReport;
  reportPath?: string;
}

/**
 * The whole VQA pipeline: data (generate → read → tokenize → preprocess), a ViLT-style model,
 * AdamW with warmup + cosine, the soft-score VQA loss, checkpointed training that can resume,
 * and the official VQA accuracy on the validation split, overall and per question type.
 */
export async function runVqaPipeline(
  overrides: Partial<VqaConfig> = {},
  log: (line: string) => void = console.log,
): Promise<VqaRunResult> {
  const config: VqaConfig = { ...DEFAULT_CONFIG, ...overrides };
  const started = performance.now();
  if (config.backend) setBackend(config.backend);
  manualSeed(config.seed);
  log(`backend: ${getBackend()}`);

  const data = await prepareVqaData(config, log);
  const padId = data.tokenizer.padId;
  const answerList = data.answers.answers;
  const model = new VqaModel(config, data.tokenizer.vocabSize, answerList.length, padId, data.maxLength);
  const parameterCount = model.parameters().reduce((n, p) => n + p.size, 0);
  log(`model: ${parameterCount.toLocaleString('en-US')} parameters`);

  const optimizer = new AdamW(
    paramGroupsWithWeightDecay(model.namedParameters(), { weightDecay: config.weightDecay }),
    { lr: config.learningRate },
  );
  const scheduler = getScheduler('cosine', optimizer, {
    numWarmupSteps: config.warmupSteps,
    numTrainingSteps: config.maxSteps,
  });
  const collate = (examples: VqaExample[]) => collateVqa(examples, padId);
  const trainLoader = new DataLoader(arrayDataset(data.train), {
    batchSize: config.batchSize,
    shuffle: true,
    seed: config.seed,
    dropLast: true,
    collate,
  });
  const evalLoader = new DataLoader(arrayDataset(data.val), { batchSize: 128, collate });

  const trainer = new Trainer<VqaBatch, VqaModel>({
    model,
    optimizer,
    scheduler,
    trainData: trainLoader,
    evalData: evalLoader,
    computeLoss: (m, b) => vqaLoss(m.forward(b.pixelValues, b.inputIds, b.textMask), b.targets).loss,
    computeMetrics: (m, b) => {
      const ids = argmax(m.forward(b.pixelValues, b.inputIds, b.textMask), -1).dataSync();
      const acc = b.examples.reduce((s, e, i) => s + vqaAccuracy(answerList[ids[i]!]!, e.answers), 0);
      return { vqaAccuracy: acc / b.examples.length };
    },
    maxSteps: config.maxSteps,
    maxGradNorm: 1,
    evalEvery: config.evalEvery,
    checkpointDir: join(config.runDir, 'checkpoints'),
    checkpointEvery: config.checkpointEvery,
    keepLast: 2,
    outputDir: config.runDir,
    progress: config.progress,
  });
  const result = await trainer.train({ resume: config.resume });

  const report = evaluateModel(model, data.train, data.val, answerList, padId);
  await mkdir(config.runDir, { recursive: true });
  await saveModule(join(config.runDir, 'model.safetensors'), model);
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    config,
    backend: getBackend(),
    steps: result.state.step,
    resumedFrom: result.resumedFrom,
    seconds,
    accuracy: report.overall,
    blindBaseline: report.blindBaseline,
    perQuestionType: report.perQuestionType,
    perAnswerType: report.perAnswerType,
  };
  await writeFile(join(config.runDir, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return {
    config,
    backend: getBackend(),
    steps: result.state.step,
    resumedFrom: result.resumedFrom,
    seconds,
    report,
    ...(result.reportPath ? { reportPath: result.reportPath } : {}),
  };
}

/** The result as the table the CLI prints. */
export function formatResult(r: VqaRunResult): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const lines = [
    `VQA accuracy (official metric) on ${r.report.predictions.length} validation questions: ${pct(r.report.overall)}`,
    `blind baseline (most common answer per question type, no image): ${pct(r.report.blindBaseline)}`,
    '',
    'per question type:',
    ...Object.entries(r.report.perQuestionType)
      .sort()
      .map(([type, acc]) => `  ${type.padEnd(20)} ${pct(acc)}`),
    '',
    `${r.steps} steps on ${r.backend} in ${r.seconds.toFixed(0)} s${r.resumedFrom !== null ? ` (resumed from step ${r.resumedFrom})` : ''}`,
    `model, metrics.jsonl, report.html, results.json: ${r.config.runDir}`,
  ];
  return lines.join('\n');
}
