/**
 * The app's side of the exact comparison with its PyTorch twin (`scripts/torch_twin.py`): same
 * initial weights, same batches, same ITM pairs. It builds the app's model with a seed, saves its
 * initial state dict (`init.safetensors`, the app's names; the twin maps them), computes the first
 * batch's losses and every parameter's gradient (`grads0.safetensors`), then trains `--steps`
 * steps with the app's own Trainer setup (AdamW, warmup + cosine, clipping at 1, temperature
 * clamp) and records every batch (image ids, token ids, mask, truth matrix, the ITM pairs drawn)
 * with the step's losses, learning rate and gradient norm (`batches.json`), and the final weights
 * (`final.safetensors`). The twin replays them:
 *
 *     pnpm --dir apps/retrieval exec tsx --conditions=@polymodal/source scripts/twin-compare.ts --steps 30
 *     OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 apps/retrieval/scripts/torch_twin.py \
 *       --train apps/retrieval/data/retrieval/train-512-48px-seed1 --test apps/retrieval/data/retrieval/test-48-48px-seed1 \
 *       --replay apps/retrieval/runs/twin-compare --report apps/retrieval/results/twin-agreement.json
 *
 * (paths relative to apps/retrieval here; `--train-images`, `--steps`, `--lr`, `--seed`, `--out` change
 * the run). `--stream N` writes only `init.safetensors` and the image ids of the run's first N
 * batches (`stream.json`), for a long twin run on the app's init and batch stream
 * (`torch_twin.py --init <dir>/init.safetensors --batches <dir>/stream.json`). `--data-seed S` uses the
 * generated sets of seed S with a run of another `--seed`; `--print-steps 1` prints each step's losses.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOptimizer } from '@polymodal/app-kit';
import { arrayDataset, DataLoader, ImageProcessor } from '@polymodal/data';
import { Trainer } from '@polymodal/finetune/node';
import { saveModule, saveSafetensors } from '@polymodal/nn/node';
import { manualSeed, noGrad, type Tensor } from '@polymodal/tensor';
import { DEFAULT_TRAIN, modelConfigOf, type TrainConfig } from '../src/config.js';
import {
  buildTokenizer,
  collateGroups,
  datasetRoots,
  ensureGenerated,
  preprocessorConfig,
  type RetrievalBatch,
  type RetrievalImage,
  readSplit,
} from '../src/data.js';
import { RetrievalModel } from '../src/model.js';
import { retrievalLosses, totalLoss } from '../src/objective.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const steps = Number(arg('steps', '30'));
const config: TrainConfig = {
  ...DEFAULT_TRAIN,
  trainImages: Number(arg('train-images', '512')),
  testImages: 48,
  steps,
  learningRate: Number(arg('lr', String(DEFAULT_TRAIN.learningRate))),
  seed: Number(arg('seed', '1')),
  // The replay covers the earlier recipe (own captions, ITC + ITM), which the twin's --replay runs.
  capsPerImage: 0,
  negCaps: 0,
  itmGenNeg: 0,
  auxWeight: 0,
  auxEmbedWeight: 0,
};
const out = arg('out', 'runs/twin-compare');
mkdirSync(out, { recursive: true });
const log = (line: string) => console.log(line);

type Batch = RetrievalBatch & { imageIds: number[]; captionIds: number[] };

// `--data-seed`: the generated sets of another seed than the run's (default: the run's, as the app).
const dataSeed = Number(arg('data-seed', String(config.seed)));
const roots = datasetRoots({ ...config, seed: dataSeed });
await ensureGenerated(roots.train, 'train', config.trainImages, dataSeed, config.imageSize, log);
await ensureGenerated(roots.test, 'test', config.testImages, dataSeed, config.imageSize, log);
const processor = new ImageProcessor(preprocessorConfig(config.imageSize));
const captions = (await readSplit(roots.train, 'train2014', null, processor)).texts;
const tokenizer = buildTokenizer(captions);
const { images } = await readSplit(roots.train, 'train2014', tokenizer, processor);
const maxLength = images.reduce(
  (m, im) => im.captions.reduce((n, c) => Math.max(n, c.inputIds.length), m),
  0,
);
const modelConfig = modelConfigOf(config, {
  vocabSize: tokenizer.vocabSize,
  padId: tokenizer.padId,
  maxLength,
});

/** As train.ts: one image per item, 4 × groups-per-batch images a batch, shuffled with the seed. */
const loaderOf = () =>
  new DataLoader(arrayDataset(images.map((im) => [im])), {
    batchSize: 4 * config.groupsPerBatch,
    shuffle: true,
    seed: config.seed,
    dropLast: true,
    collate: (g: RetrievalImage[][]): Batch => ({
      ...collateGroups(g, tokenizer.padId),
      imageIds: g.flat().map((im) => im.imageId),
      captionIds: g.flat().flatMap((im) => im.captions.map((c) => c.id)),
    }),
  });

const freshModel = () => {
  manualSeed(config.seed);
  return new RetrievalModel(modelConfig);
};

// `--stream N`: only the initial weights and the image ids of the first N batches the app's run
// draws (no training), for the twin's `--init <file> --batches <file>` (its own ITM negatives).
const streamSteps = Number(arg('stream', '0'));
if (streamSteps > 0) {
  await saveModule(join(out, 'init.safetensors'), freshModel());
  const ids = new DataLoader(arrayDataset(images), {
    batchSize: 4 * config.groupsPerBatch,
    shuffle: true,
    seed: config.seed,
    dropLast: true,
    collate: (g: RetrievalImage[]) => g.map((im) => im.imageId),
  });
  const stream: number[][] = [];
  while (stream.length < streamSteps) {
    for await (const b of ids) {
      stream.push(b);
      if (stream.length === streamSteps) break;
    }
  }
  writeFileSync(
    join(out, 'stream.json'),
    JSON.stringify({ vocab: tokenizer.idToToken, maxLength, steps: stream }),
  );
  log(`wrote ${out}/init.safetensors and stream.json (${streamSteps} batches)`);
  process.exit(0);
}

// Step 0 on a fresh model: losses and every gradient of the first batch (before clipping).
const first = freshModel();
await saveModule(join(out, 'init.safetensors'), first);
const batch0 = (await loaderOf()[Symbol.asyncIterator]().next()).value as Batch;
const l0 = retrievalLosses(first, batch0);
const total0 = totalLoss(l0, config.itmWeight);
total0.backward();
const grads: Record<string, Tensor> = {};
for (const [name, p] of first.namedParameters()) if (p.grad) grads[name] = p.grad;
await saveSafetensors(join(out, 'grads0.safetensors'), grads);
await saveSafetensors(join(out, 'pixels0.safetensors'), { pixels: batch0.pixelValues });
const step0 = { itc: l0.itc.item(), itm: l0.itm.item(), total: total0.item() };
log(`step 0: ${JSON.stringify(step0)}`);

// The run: the app's Trainer with train.ts's settings, every batch recorded.
const model = freshModel();
const { optimizer, scheduler } = createOptimizer(model.namedParameters(), {
  lr: config.learningRate,
  weightDecay: config.weightDecay,
  steps: config.steps,
  warmup: { ratio: config.warmupRatio },
});
const records: Record<string, unknown>[] = [];
let current: Batch | null = null;
const trainer = new Trainer<Batch, RetrievalModel>({
  model,
  optimizer,
  scheduler,
  trainData: loaderOf(),
  computeLoss: (m, b) => {
    current = b;
    const { itc, itm, itmPairs } = retrievalLosses(m, b);
    records.push({
      step: records.length + 1,
      lr: optimizer.paramGroups[0]!.lr,
      imageIds: b.imageIds,
      captionIds: b.captionIds,
      inputIds: noGrad(() => b.inputIds.arraySync()),
      textMask: noGrad(() => b.textMask.arraySync()),
      captionImage: b.captionImage,
      holds: b.holds,
      itmPairs,
      itc: itc.item(),
      itm: itm.item(),
    });
    return { itc, itm };
  },
  lossWeights: { itc: 1, itm: config.itmWeight },
  maxSteps: config.steps,
  maxGradNorm: 1,
  logEvery: 1,
  progress: 'none',
  log,
  callbacks: [
    {
      onStepEnd: () => {
        model.itc.clampLogitScale();
        if (current) for (const t of [current.pixelValues, current.inputIds, current.textMask]) t.dispose();
        current = null;
      },
      onLog: (_t, logs) => {
        for (const l of logs) {
          const r = records[l.step - 1]!;
          r.loss = l.loss;
          r.gradNorm = l.gradNorm;
          if (arg('print-steps', '0') === '1') log(`step ${l.step} itc ${l.losses.itc} itm ${l.losses.itm}`);
        }
      },
    },
  ],
});
await trainer.train();
await saveModule(join(out, 'final.safetensors'), model);
writeFileSync(
  join(out, 'batches.json'),
  JSON.stringify({
    config: { ...config, maxLength, vocabSize: tokenizer.vocabSize, padId: tokenizer.padId },
    vocab: tokenizer.idToToken,
    step0,
    steps: records,
  }),
);
log(`wrote ${out}: init, grads0, pixels0, final (.safetensors) and batches.json (${records.length} steps)`);
for (const r of records.filter((_, i) => i % 5 === 0 || i === records.length - 1)) {
  log(`step ${r.step}: itc ${(r.itc as number).toFixed(5)} itm ${(r.itm as number).toFixed(5)} lr ${r.lr}`);
}
