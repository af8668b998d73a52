import { join } from 'node:path';
import { createOptimizer, prepareRunDir, UsageError } from '@polymodal/app-kit';
import { arrayDataset, DataLoader, ImageProcessor } from '@polymodal/data';
import type { TrainResult } from '@polymodal/finetune';
import { Trainer } from '@polymodal/finetune/node';
import { getBackend, manualSeed, setBackend } from '@polymodal/tensor';
import { saveBundle } from './bundle.js';
import { modelConfigOf, type TrainConfig } from './config.js';
import {
  buildTokenizer,
  collateGroups,
  datasetRoots,
  ensureGenerated,
  groupImages,
  preprocessorConfig,
  type RetrievalBatch,
  type RetrievalImage,
  readSplit,
} from './data.js';
import { RetrievalModel } from './model.js';
import { retrievalLosses } from './objective.js';
import { SceneBatcher } from './scene-batch.js';
import { itmHeadOfRun, sceneRecipeOf } from './scene-recipe.js';

export interface TrainOutcome {
  bundleDir: string;
  modelId: string;
  steps: number;
  resumedFrom: number | null;
  seconds: number;
  parameters: number;
  result: TrainResult;
  /** The trained model (what the bundle holds), for callers that go on using it. */
  model: RetrievalModel;
}

/**
 * The `train` command: generates the training and test sets once, builds a word vocabulary from
 * the training captions, trains the dual encoder + ITM head (ITC + weighted ITM with hard
 * negatives; the read-out ITM head by default with scene annotations, else the co-attention fusion;
 * with scene annotations, K generated captions per image, generated false captions as
 * negatives and the auxiliary scene losses, see `scene-recipe.ts`) with AdamW
 * and warmup + cosine, checkpoints as it goes (`--resume` continues exactly: model, optimizer,
 * schedule, loader position and every generator the model owns), and saves a bundle to
 * `<runDir>/bundle`.
 */
export async function trainRetrieval(
  config: TrainConfig,
  log: (line: string) => void,
): Promise<TrainOutcome> {
  const started = performance.now();
  if (config.backend) setBackend(config.backend);
  manualSeed(config.seed);
  const run = await prepareRunDir(config.runDir, { resume: config.resume, config });
  run.notes.forEach(log);
  log(`backend: ${getBackend()}`);
  const roots = datasetRoots(config);
  await ensureGenerated(roots.train, 'train', config.trainImages, config.seed, config.imageSize, log);
  await ensureGenerated(roots.test, 'test', config.testImages, config.seed, config.imageSize, log);
  const preprocessor = preprocessorConfig(config.imageSize);
  const processor = new ImageProcessor(preprocessor);
  const captions = (await readSplit(roots.train, 'train2014', null, processor)).texts;
  const tokenizer = buildTokenizer(captions);
  const { images } = await readSplit(roots.train, 'train2014', tokenizer, processor);
  // The scene-annotation recipe, or null (earlier recipe, or data without scenes: noted).
  const sceneRecipe = sceneRecipeOf(config, images, log);
  const batcher = sceneRecipe ? new SceneBatcher(sceneRecipe, tokenizer) : null;
  let maxLength = images.reduce(
    (m, im) => im.captions.reduce((n, c) => Math.max(n, c.inputIds.length), m),
    0,
  );
  // Generated captions use the generator's template; the text tower needs positions for all.
  if (batcher && sceneRecipe!.capsPerImage > 0) {
    for (const im of images)
      for (const c of batcher.pool(im)) maxLength = Math.max(maxLength, batcher.encode(c).length);
  }
  // The read-out ITM head, or the fusion (noted) where the read-outs are off for want of scenes.
  const itmHead = itmHeadOfRun(config, sceneRecipe, log);
  log(
    `ITM head: ${itmHead === 'readout' ? 'read-out (ReadoutItm over the scene read-outs of both embeddings)' : 'cross-attention fusion (IntermediateFusion over both towers’ sequences)'}`,
  );
  const effective: TrainConfig = sceneRecipe
    ? { ...config, itmHead }
    : { ...config, capsPerImage: 0, negCaps: 0, itmGenNeg: 0, auxWeight: 0, auxEmbedWeight: 0, itmHead };
  const groups = groupImages(images);
  if (groups.length < config.groupsPerBatch) {
    throw new UsageError(
      `--groups-per-batch ${config.groupsPerBatch} needs at least that many groups; --train-images ${config.trainImages} makes ${groups.length}`,
    );
  }
  log(
    `data: ${images.length} training images in ${groups.length} groups, ${captions.length} captions, ${tokenizer.vocabSize} tokens`,
  );
  const model = new RetrievalModel(
    modelConfigOf(effective, { vocabSize: tokenizer.vocabSize, padId: tokenizer.padId, maxLength }),
  );
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  log(`model: ${parameters.toLocaleString('en-US')} parameters`);
  const { optimizer, scheduler, notes } = createOptimizer(model.namedParameters(), {
    lr: config.learningRate,
    weightDecay: config.weightDecay,
    steps: config.steps,
    warmup: { ratio: config.warmupRatio },
  });
  notes.forEach(log);
  // `random`: 4 × groups-per-batch images drawn at random (easy negatives, most of what the dual
  // encoder learns in the first thousand steps); `groups`: whole groups (each original next to
  // its distractors, the hard negatives).
  const items = config.batching === 'groups' ? groups : images.map((im) => [im]);
  const loader = new DataLoader(arrayDataset(items), {
    batchSize: config.batching === 'groups' ? config.groupsPerBatch : 4 * config.groupsPerBatch,
    shuffle: true,
    seed: config.seed,
    dropLast: true,
    collate: (g: RetrievalImage[][]) =>
      batcher ? batcher.collate(g.flat()) : collateGroups(g, tokenizer.padId),
  });
  let current: RetrievalBatch | null = null;
  const trainer = new Trainer<RetrievalBatch, RetrievalModel>({
    model,
    optimizer,
    scheduler,
    trainData: loader,
    computeLoss: (m, b) => {
      current = b;
      const { itc, itm, cells, readout } = retrievalLosses(m, b, effective);
      return { itc, itm, ...(cells ? { cells } : {}), ...(readout ? { readout } : {}) };
    },
    lossWeights: {
      itc: 1,
      itm: config.itmWeight,
      cells: effective.auxWeight,
      readout: effective.auxEmbedWeight,
    },
    maxSteps: config.steps,
    maxGradNorm: 1,
    checkpointDir: run.checkpoints,
    checkpointEvery: config.checkpointEvery,
    keepLast: 2,
    outputDir: run.root,
    progress: config.progress,
    log,
    // The Trainer checkpoints every generator the model holds (dropout, hard negatives) by name.
    callbacks: [
      {
        onStepEnd: () => {
          model.itc.clampLogitScale();
          // The batch's tensors are ours to free once its step is done.
          if (current) for (const t of [current.pixelValues, current.inputIds, current.textMask]) t.dispose();
          current = null;
        },
      },
    ],
  });
  const result = await trainer.train({ resume: config.resume });
  const bundleDir = join(run.root, 'bundle');
  const modelId = await saveBundle(bundleDir, model, tokenizer, preprocessor);
  return {
    bundleDir,
    modelId,
    steps: result.state.step,
    resumedFrom: result.resumedFrom,
    seconds: (performance.now() - started) / 1000,
    parameters,
    result,
    model,
  };
}
