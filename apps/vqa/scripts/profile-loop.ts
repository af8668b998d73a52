/**
 * Where a step of the real fine-tuning loop goes, next to the isolated step of profile-step.ts, in
 * one process (the machine's load drifts): CPU time of this process (every thread) per
 *   - collate: one batch from `ImageGroupedBatches` (sampling, images → tensor, padding),
 *   - isolated step: forward, backward, AdamW on one fixed real batch (profile-step.ts),
 *   - + clipping + scheduler: the same with clipGradNorm (max norm 1) and the LR schedule,
 *   - + a new batch each step: the same on the loader's next batch (collation included),
 *   - finetune(): the app's real loop (Trainer, layer-wise groups, progress off, no evaluation
 *     until the end, no checkpoint before it), per step,
 *   - evaluation: one pass over the validation split (the default run does one every 200 steps).
 *
 *   pnpm --dir apps/vqa exec tsx --conditions=@polymodal/source scripts/profile-loop.ts <data dir> [backend] [steps]
 *
 * `<data dir>` holds the generated `train-…` and `val-…` folders (`pnpm vqa generate`).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW, clipGradNorm, getScheduler } from '@polymodal/finetune';
import { answerCrossEntropyLoss } from '@polymodal/losses';
import { Generator, getBackend, noGrad, scope, setBackend } from '@polymodal/tensor';
import { DEFAULT_CONFIG } from '../src/config.js';
import { ImageGroupedBatches, type VqaBatch } from '../src/data/batches.js';
import { predictAnswers } from '../src/evaluation/evaluate.js';
import { VqaModel } from '../src/model/vqa-model.js';
import { modelConfigOf, prepareData } from '../src/pipeline.js';
import { finetune } from '../src/training/finetune.js';

const [dataDir, backend = 'wasm-1t', stepsArg = '30'] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: profile-loop.ts <data dir> [backend] [steps]');
setBackend(backend);
const steps = Number(stepsArg);
const folder = (prefix: string) => join(dataDir, readdirSync(dataDir).find((f) => f.startsWith(prefix))!);
const source = (root: string, split: string) => ({ root, split });
const data = await prepareData(
  { train: source(folder('train-'), 'train2014'), val: source(folder('val-'), 'val2014') },
  DEFAULT_CONFIG.data.imageSize,
  () => {},
);
const config = { ...DEFAULT_CONFIG, finetune: { ...DEFAULT_CONFIG.finetune } };
const newModel = () => new VqaModel(modelConfigOf(config, data.vocab));
const padId = data.vocab.tokenizer.padId;
const answers = data.vocab.answers.answers;

/** CPU milliseconds of this process while `fn` runs. */
function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const batches = new ImageGroupedBatches(data.train, {
  imagesPerBatch: config.finetune.imagesPerBatch,
  questionsPerImage: config.finetune.questionsPerImage,
  padId,
  generator: new Generator(7),
});
const it = batches[Symbol.iterator]();
const collate: number[] = [];
for (let i = 0; i < 10; i++) {
  let batch: VqaBatch | undefined;
  collate.push(cpuMs(() => (batch = it.next().value as VqaBatch)));
  const { pixelValues, imageIndex, inputIds, mask, labels } = batch!;
  for (const t of [pixelValues, imageIndex, inputIds, mask, labels]) t.dispose();
}
const fixed = it.next().value!;

const model = newModel();
const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.01 });
const scheduler = getScheduler('cosine', optimizer, { numWarmupSteps: 5, numTrainingSteps: 1000 });
const step = (clip: boolean) =>
  scope(() => {
    const cells = model.encodeImage(fixed.pixelValues);
    answerCrossEntropyLoss(
      model.head.forward(model.fuse(cells, fixed.inputIds, fixed.mask, fixed.imageIndex)),
      fixed.labels,
    ).loss.backward();
    if (clip) clipGradNorm(model.parameters(), 1);
    optimizer.step();
    if (clip) scheduler.step();
    optimizer.zeroGrad();
  });
/** The same step on a new batch from the loader each time (collation included, batch freed after). */
const freshStep = () =>
  scope(() => {
    const b = it.next().value!;
    const cells = model.encodeImage(b.pixelValues);
    answerCrossEntropyLoss(
      model.head.forward(model.fuse(cells, b.inputIds, b.mask, b.imageIndex)),
      b.labels,
    ).loss.backward();
    clipGradNorm(model.parameters(), 1);
    optimizer.step();
    scheduler.step();
    optimizer.zeroGrad();
  });
for (let i = 0; i < 3; i++) step(true);
const isolated: number[] = [];
const clipped: number[] = [];
const fresh: number[] = [];
for (let i = 0; i < 6; i++) {
  isolated.push(cpuMs(() => step(false)));
  clipped.push(cpuMs(() => step(true)));
  fresh.push(cpuMs(freshStep));
}

const evalMs = cpuMs(() => noGrad(() => predictAnswers(model, data.val, answers, padId)));

const runDir = mkdtempSync(join(tmpdir(), 'vqa-loop-'));
let loopMs = 0;
let loopEvalSeconds = 0;
try {
  const t0 = process.cpuUsage();
  const { curve } = await finetune(
    newModel(),
    data.train,
    data.val,
    answers,
    padId,
    {
      ...config.finetune,
      steps,
      evalEvery: 0,
      checkpointEvery: steps,
      seed: 1,
      resume: false,
      progress: 'none',
    },
    runDir,
    () => {},
  );
  const t = process.cpuUsage(t0);
  loopMs = (t.user + t.system) / 1000;
  loopEvalSeconds = curve.reduce((s, p) => s + p.evalSeconds, 0);
} finally {
  rmSync(runDir, { recursive: true, force: true });
}
const perLoopStep = (loopMs - evalMs) / steps;

console.log(
  `${getBackend()}, batch ${fixed.labels.shape[0]} questions on ${fixed.pixelValues.shape[0]} images; CPU ms (this process, every thread):`,
);
console.table({
  'collate one batch': { ms: +median(collate).toFixed(1) },
  'isolated step (fwd, bwd, AdamW)': { ms: +median(isolated).toFixed(1) },
  '+ clipping + LR schedule': { ms: +median(clipped).toFixed(1) },
  '+ a new batch from the loader each step': { ms: +median(fresh).toFixed(1) },
  [`finetune() per step (${steps} steps, final evaluation subtracted)`]: { ms: +perLoopStep.toFixed(1) },
  [`evaluation of ${data.val.examples.length} val questions`]: { ms: +evalMs.toFixed(0) },
  'evaluation, wall s as finetune() logged it': { ms: +(1000 * loopEvalSeconds).toFixed(0) },
});
