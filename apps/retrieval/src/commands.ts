import { existsSync, readdirSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import {
  type AppSpec,
  type CommandContext,
  choice,
  defineCommand,
  flag,
  int,
  number,
  type ParsedOptions,
  string,
  UsageError,
  writeJsonAtomic,
} from '@polymodal/app-kit';
import { getBackend, setBackend } from '@polymodal/tensor';
import { type Bundle, loadBundle } from './bundle.js';
import { DEFAULT_TRAIN, ITM_HEADS, QUICK_TRAIN, type TrainConfig } from './config.js';
import { datasetRoots, ensureGenerated, readSplit } from './data.js';
import { type EvalReport, evaluateRetrieval, formatEvalReport } from './evaluate.js';
import { INDEX_KINDS } from './index/vector-index.js';
import { type IndexTarget, indexCollection, openIndex, resolveSource } from './indexer.js';
import { checkSceneRecipe } from './scene-recipe.js';
import { formatSearchResult, search } from './search.js';
import { parseStemLayers } from './stem-layers.js';
import { trainRetrieval } from './train.js';

const D = DEFAULT_TRAIN;
const DEFAULT_TEST = datasetRoots(D).test;
const DEFAULT_BUNDLE = join(D.runDir, 'bundle');
const DEFAULT_INDEX = join(D.runDir, 'index');
const PROGRESS = ['auto', 'bar', 'log', 'none'] as const;

const backend = string({
  description: 'tensor backend (wasm, cpu, gpujs, …; default: the library’s choice)',
});
const progress = choice({ description: 'progress display', choices: PROGRESS, default: 'auto' });

const trainOptions = {
  steps: int({ description: 'optimizer steps', default: D.steps }),
  trainImages: int({
    description: 'generated training images (groups of 4)',
    default: D.trainImages,
    min: 4,
  }),
  testImages: int({ description: 'generated test images (groups of 4)', default: D.testImages, min: 4 }),
  groupsPerBatch: int({
    description: 'groups per batch (4 images, 8 captions each)',
    default: D.groupsPerBatch,
  }),
  batching: choice({
    description: 'batches of random images, or of whole groups (an original with its distractors)',
    choices: ['random', 'groups'] as const,
    default: D.batching,
  }),
  lr: number({ description: 'peak learning rate', default: D.learningRate, min: 0, exclusiveMin: true }),
  weightDecay: number({ description: 'AdamW weight decay', default: D.weightDecay, min: 0 }),
  warmupRatio: number({
    description: 'warmup as a fraction of --steps',
    default: D.warmupRatio,
    min: 0,
    max: 0.99,
  }),
  itmWeight: number({ description: 'weight of the ITM loss (ITC has 1)', default: D.itmWeight, min: 0 }),
  capsPerImage: int({
    description:
      'captions per image per step from its clear object pairs (scene annotations; 0: its own captions)',
    default: D.capsPerImage,
    min: 0,
  }),
  negCaps: int({
    description:
      'generated false captions per image per step, extra image→text negatives (scene annotations)',
    default: D.negCaps,
    min: 0,
  }),
  itmGenNeg: int({
    description: 'of those, per image, how many are also ITM negatives (≤ --neg-caps)',
    default: D.itmGenNeg,
    min: 0,
  }),
  auxWeight: number({
    description: 'weight of the per-cell object-kind loss (scene annotations; 0: off)',
    default: D.auxWeight,
    min: 0,
  }),
  auxEmbedWeight: number({
    description:
      'weight of the scene read-outs from both embeddings (scene annotations; needs --caps-per-image)',
    default: D.auxEmbedWeight,
    min: 0,
  }),
  itmHead: choice({
    description:
      'ITM head that re-ranks: readout (over the scene read-outs of both embeddings; generated data with scene annotations) or fusion (cross-attention over both towers’ sequences); default: readout when --aux-embed-weight > 0, else fusion (and fusion on data without scene annotations, with a note)',
    choices: ITM_HEADS,
  }),
  dropout: number({
    description: 'dropout in the towers and the fusion',
    default: D.dropout,
    min: 0,
    max: 0.9,
  }),
  stem: string({
    description: 'conv stem: channels:stride of each 3×3 conv + BatchNorm + ReLU',
    default: D.stem.map((l) => `${l.channels}:${l.stride}`).join(','),
    placeholder: '<c:s,…>',
  }),
  imagePool: choice({
    description: 'image embedding: learned queries attending to the cells, or their mean',
    choices: ['attention', 'mean'] as const,
    default: D.imagePool,
  }),
  textPool: choice({
    description: 'text embedding: the [CLS] state (order-aware), or the mean of the tokens',
    choices: ['cls', 'mean'] as const,
    default: D.textPool,
  }),
  imageSize: int({
    description: 'image side in pixels',
    default: D.imageSize,
    min: 16,
    max: 256,
  }),
  dataDir: string({
    description: 'where datasets are generated (once)',
    default: D.dataDir,
    placeholder: '<dir>',
  }),
  runDir: string({
    description: 'checkpoints, logs, report and the bundle',
    default: D.runDir,
    placeholder: '<dir>',
  }),
  checkpointEvery: int({ description: 'checkpoint every N steps', default: D.checkpointEvery }),
  resume: flag({ description: 'continue from the last checkpoint in --run-dir', default: false }),
  seed: int({ description: 'seed of data, model and shuffling', default: D.seed, min: 0 }),
  backend,
  progress,
};

type TrainOptions = ParsedOptions<typeof trainOptions>;

function trainConfigOf(o: TrainOptions): TrainConfig {
  let stem: TrainConfig['stem'];
  try {
    stem = parseStemLayers(o.stem);
  } catch {
    throw new UsageError(
      `--stem must be channels:stride pairs separated by commas (e.g. 32:2,64:2), got "${o.stem}"`,
    );
  }
  checkSceneRecipe(o);
  return {
    ...D,
    capsPerImage: o.capsPerImage,
    negCaps: o.negCaps,
    itmGenNeg: o.itmGenNeg,
    auxWeight: o.auxWeight,
    auxEmbedWeight: o.auxEmbedWeight,
    ...(o.itmHead ? { itmHead: o.itmHead } : {}),
    steps: o.steps,
    trainImages: o.trainImages,
    testImages: o.testImages,
    groupsPerBatch: o.groupsPerBatch,
    batching: o.batching,
    learningRate: o.lr,
    weightDecay: o.weightDecay,
    warmupRatio: o.warmupRatio,
    itmWeight: o.itmWeight,
    dropout: o.dropout,
    imageSize: o.imageSize,
    stem,
    imagePool: o.imagePool,
    textPool: o.textPool,
    dataDir: o.dataDir,
    runDir: o.runDir,
    checkpointEvery: o.checkpointEvery,
    resume: o.resume,
    seed: o.seed,
    progress: o.progress,
    ...(o.backend ? { backend: o.backend } : {}),
  };
}

const quickPreset = {
  quick: {
    description: 'a tiny run (seconds) to check the pipeline',
    values: {
      steps: QUICK_TRAIN.steps!,
      trainImages: QUICK_TRAIN.trainImages!,
      testImages: QUICK_TRAIN.testImages!,
      groupsPerBatch: QUICK_TRAIN.groupsPerBatch!,
      checkpointEvery: QUICK_TRAIN.checkpointEvery!,
    },
  },
};

const indexTargetOptions = {
  index: string({ description: 'folder of an embedded index', default: DEFAULT_INDEX, placeholder: '<dir>' }),
  indexKind: choice({
    description: 'exact (scan), hnsw (usearch) or pgvector (with --database-url)',
    choices: INDEX_KINDS,
    default: 'exact',
  }),
  databaseUrl: string({
    description: 'PostgreSQL + pgvector (postgres://user:pass@host:5432/db), or pglite://<dir> in process',
    placeholder: '<url>',
  }),
  table: string({
    description: 'table prefix in the database',
    default: 'polymodal_retrieval',
    placeholder: '<name>',
  }),
  efSearch: int({
    description: 'HNSW search breadth (usearch expansion_search, pgvector hnsw.ef_search)',
    default: 128,
    max: 1000,
  }),
};

function targetOf(o: {
  index: string;
  indexKind: IndexTarget['kind'];
  databaseUrl?: string;
  table: string;
  efSearch: number;
}): IndexTarget {
  if (o.databaseUrl && o.indexKind !== 'exact' && o.indexKind !== 'pgvector') {
    throw new UsageError(
      `--index-kind ${o.indexKind} is an embedded kind; with --database-url the index is pgvector`,
    );
  }
  return {
    kind: o.databaseUrl ? 'pgvector' : o.indexKind,
    dir: o.index,
    table: o.table,
    efSearch: o.efSearch,
    ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
  };
}

async function withBackend<T>(name: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (name) setBackend(name);
  return fn();
}

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'Train the dual encoder + ITM head on generated scenes; save a bundle',
  options: trainOptions,
  presets: quickPreset,
  run: async (o, { log }) => {
    const r = await trainRetrieval(trainConfigOf(o), log);
    log(
      `\ntrained ${r.steps} steps in ${r.seconds.toFixed(0)} s${r.resumedFrom !== null ? ` (resumed from step ${r.resumedFrom})` : ''}`,
    );
    log(`bundle: ${r.bundleDir} (model id ${r.modelId})`);
  },
});

export const indexCommand = defineCommand({
  name: 'index',
  summary: 'Embed images (and captions) into an index; resumable',
  options: {
    bundle: string({ description: 'model bundle from train', default: DEFAULT_BUNDLE, placeholder: '<dir>' }),
    images: string({
      description: 'image folder, or a dataset folder (COCO captions layout)',
      default: DEFAULT_TEST,
      placeholder: '<dir>',
    }),
    captions: string({
      description: 'COCO/Karpathy-style captions JSON for the images',
      placeholder: '<file>',
    }),
    ...indexTargetOptions,
    batchSize: int({ description: 'images embedded per batch', default: 64 }),
    backend,
    progress,
  },
  run: (o, ctx) =>
    withBackend(o.backend, async () => {
      const bundle = await loadBundle(o.bundle);
      const source = await resolveSource(o.images, o.captions);
      const index = await openIndex(targetOf(o), bundle);
      try {
        const r = await indexCollection(bundle, index, source, {
          batchSize: o.batchSize,
          progress: o.progress,
          log: ctx.log,
          error: ctx.error,
        });
        const count = { images: await index.count('images'), captions: await index.count('texts') };
        ctx.log(
          `indexed into ${index.location} (${index.kind}, model ${bundle.modelId}, dimension ${bundle.config.embedDim}): ` +
            `${r.images.added} images added (${r.images.alreadyIndexed} already there, ${r.images.skipped} skipped), ` +
            `${r.captions.added} captions added (${r.captions.alreadyIndexed} already there); ` +
            `now ${count.images} images, ${count.captions} captions; ${r.seconds.toFixed(1)} s`,
        );
      } finally {
        await index.close();
      }
    }),
});

export const searchCommand = defineCommand({
  name: 'search',
  summary: 'Search the index by text (finds images) or by image (finds captions)',
  options: {
    text: string({ description: 'query text' }),
    image: string({ description: 'query image file', placeholder: '<file>' }),
    bundle: string({ description: 'model bundle', default: DEFAULT_BUNDLE, placeholder: '<dir>' }),
    ...indexTargetOptions,
    k: int({ description: 'results to show', default: 10 }),
    rerank: int({ description: 're-rank the top N with the ITM head (0: off)', default: 0, min: 0 }),
    exact: flag({ description: 'exact search on an HNSW/pgvector index', default: false }),
    json: flag({ description: 'print JSON', default: false }),
    backend,
  },
  validate: (o) => {
    if ((o.text === undefined) === (o.image === undefined))
      throw new UsageError('give exactly one of --text and --image');
  },
  run: (o, { log }) =>
    withBackend(o.backend, async () => {
      const bundle = await loadBundle(o.bundle);
      const index = await openIndex(targetOf(o), bundle);
      try {
        const r = await search(bundle, index, o.text !== undefined ? { text: o.text } : { image: o.image! }, {
          k: o.k,
          rerank: o.rerank,
          exact: o.exact,
        });
        log(o.json ? JSON.stringify(r, null, 2) : formatSearchResult(r));
      } finally {
        await index.close();
      }
    }),
});

async function runEval(
  bundle: Bundle,
  data: string,
  rerank: number,
  limit: number | undefined,
): Promise<EvalReport> {
  const root = resolvePath(data);
  const ann = join(root, 'annotations');
  const files = existsSync(ann) ? readdirSync(ann).filter((f) => /^captions_.*\.json$/.test(f)) : [];
  if (files.length !== 1) {
    throw new UsageError(
      `--data ${data} is not a dataset folder (expected one annotations/captions_<split>.json)`,
    );
  }
  const split = files[0]!.slice('captions_'.length, -'.json'.length);
  const { images } = await readSplit(root, split, bundle.tokenizer, bundle.processor);
  for (const im of images) {
    for (const c of im.captions) c.inputIds = c.inputIds.slice(0, bundle.config.maxLength);
  }
  return evaluateRetrieval(bundle.model, limit ? images.slice(0, limit) : images, { rerankK: rerank });
}

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'Recall@1/5/10 both ways, with and without ITM re-ranking, next to a random ranking',
  options: {
    bundle: string({ description: 'model bundle', default: DEFAULT_BUNDLE, placeholder: '<dir>' }),
    data: string({
      description: 'dataset folder (COCO captions layout)',
      default: DEFAULT_TEST,
      placeholder: '<dir>',
    }),
    rerank: int({
      description: 're-rank each query’s top N with the ITM head (0: off)',
      default: 16,
      min: 0,
    }),
    limit: int({ description: 'evaluate on the first N images only' }),
    out: string({ description: 'also write the report as JSON here', placeholder: '<file>' }),
    json: flag({ description: 'print JSON', default: false }),
    backend,
  },
  run: (o, { log }) =>
    withBackend(o.backend, async () => {
      const bundle = await loadBundle(o.bundle);
      const report = await runEval(bundle, o.data, o.rerank, o.limit);
      if (o.out)
        await writeJsonAtomic(o.out, { bundle: o.bundle, modelId: bundle.modelId, data: o.data, ...report });
      log(o.json ? JSON.stringify(report, null, 2) : formatEvalReport(report));
    }),
});

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'The whole tool end to end: train → index → a few searches → eval (the default)',
  options: {
    ...trainOptions,
    rerank: int({ description: 'ITM re-ranking depth for the searches and eval', default: 16, min: 0 }),
  },
  presets: quickPreset,
  run: async (o, ctx: CommandContext) => {
    const { log } = ctx;
    const config = trainConfigOf(o);
    log('== train');
    const trained = await trainRetrieval(config, log);
    log(
      `bundle: ${trained.bundleDir} (model id ${trained.modelId}), ${trained.steps} steps in ${trained.seconds.toFixed(0)} s`,
    );
    const bundle = await loadBundle(trained.bundleDir);
    const test = datasetRoots(config).test;
    await ensureGenerated(test, 'test', config.testImages, config.seed, config.imageSize, log);
    log('\n== index (embedded, exact)');
    const indexDir = join(config.runDir, 'index');
    const index = await openIndex({ kind: 'exact', dir: indexDir }, bundle);
    try {
      const source = await resolveSource(test);
      const r = await indexCollection(bundle, index, source, {
        batchSize: 64,
        progress: config.progress,
        log,
      });
      log(
        `indexed ${r.images.added} images and ${r.captions.added} captions into ${indexDir} (${r.imagesPerSecond.toFixed(0)} images/s)`,
      );
      log('\n== search');
      const captions = source.captions;
      for (const c of [captions[0], captions[Math.floor(captions.length / 2)]]) {
        if (!c) continue;
        log(formatSearchResult(await search(bundle, index, { text: c.caption }, { k: 3, rerank: o.rerank })));
        log(`  (the caption belongs to ${c.imageKey})`);
      }
      const first = source.images[0];
      if (first)
        log(
          formatSearchResult(await search(bundle, index, { image: first.path }, { k: 3, rerank: o.rerank })),
        );
    } finally {
      await index.close();
    }
    log('\n== eval');
    const report = await runEval(bundle, test, o.rerank, undefined);
    await writeJsonAtomic(join(config.runDir, 'results.json'), {
      config,
      backend: getBackend(),
      modelId: trained.modelId,
      steps: trained.steps,
      trainSeconds: trained.seconds,
      ...report,
    });
    log(formatEvalReport(report));
    log(`\nbundle, index, metrics.jsonl, report.html, results.json: ${config.runDir}`);
  },
});

/** The retrieval app: `train`, `index`, `search`, `eval`; no command runs the demo. */
export const retrievalApp: AppSpec = {
  name: 'polymodal-retrieval',
  commands: [demoCommand, trainCommand, indexCommand, searchCommand, evalCommand],
  defaultCommand: 'demo',
};
