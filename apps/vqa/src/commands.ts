import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AppSpec,
  type CommandContext,
  choice,
  defineCommand,
  flag,
  int,
  kebabCase,
  number,
  type ParsedOptions,
  string,
  UsageError,
  writeFileAtomic,
  writeJsonAtomic,
} from '@polymodal/app-kit';
import { encodePng } from '@polymodal/data';
import { listFusions } from '@polymodal/fusion';
import { setBackend } from '@polymodal/tensor';
import { loadVqaBundle, readImage } from './bundle.js';
import { encodeQuestion } from './bundle-core.js';
import { PRESETS, type PresetName, type VqaRunConfig } from './config.js';
import type { QuestionTypeCurriculum } from './data/curriculum-batches.js';
import type { SplitSource } from './data/dataset.js';
import { ensureGenerated } from './data/generate.js';
import { evaluateBundle, evaluationMarkdown, hasSplit } from './evaluation/evaluate-bundle.js';
import { ATTENTION_MAP_FUSIONS, attentionMap, overlayAttention } from './model/attention-map.js';
import { formatRun, runSources, runVqaPipeline } from './pipeline.js';
import { startVqaServer } from './serve/start.js';

const D = PRESETS.default;

/** Options of `train` and of the bare demo command; presets fill what is not typed. */
const trainOptions = {
  preset: choice({
    description:
      'quick (CI smoke run, < 1 min), default (5,000 steps, ~8 min on 2 cores), full (9,000 steps, ~41 min)',
    choices: ['quick', 'default', 'full'] as const,
    default: 'default',
  }),
  quick: flag({ description: 'same as --preset quick', default: false }),
  steps: int({ description: 'fine-tuning steps', default: D.finetune.steps }),
  pretrainSteps: int({
    description: 'pretraining steps on the captions (0: none)',
    default: D.pretrain.steps,
    min: 0,
  }),
  trainImages: int({
    description: 'generated training images (10 questions, 3 captions each)',
    default: D.data.trainImages,
  }),
  valImages: int({ description: 'generated validation images', default: D.data.valImages }),
  imagesPerBatch: int({ description: 'images per fine-tuning batch', default: D.finetune.imagesPerBatch }),
  questionsPerImage: int({
    description: 'questions of each image in a batch (batch = images × questions)',
    default: D.finetune.questionsPerImage,
  }),
  lr: number({
    description: 'peak fine-tuning learning rate',
    default: D.finetune.lr,
    min: 0,
    exclusiveMin: true,
  }),
  layerDecay: number({
    description: 'layer-wise LR decay per depth when fine-tuning (1: none)',
    default: D.finetune.layerDecay,
    min: 0,
    exclusiveMin: true,
    max: 1,
  }),
  fusion: string({
    description: `fusion strategy (${listFusions().join(', ')})`,
    default: D.model.fusion.type,
  }),
  conditionScale: number({
    description: "FiLM only: multiplies the question's vector before it predicts the blocks' scale and shift",
    default: Number(D.model.fusion.conditionScale ?? 1),
    min: 0,
    exclusiveMin: true,
  }),
  curriculum: string({
    description:
      "start with only these question types for N steps ('horizontal,vertical:300'), then all; 'none': no curriculum",
    placeholder: '<types:steps|none>',
  }),
  dModel: int({
    description: 'width of the cells, the question and the fusion',
    default: D.model.dModel,
    min: 1,
  }),
  freeze: string({
    description: 'comma-separated parameter patterns to keep frozen, e.g. image.**',
    allowEmpty: true,
  }),
  textEncoder: choice({
    choices: ['gru', 'transformer'] as const,
    description: "how the question is read: 'gru' (in word order) or 'transformer' (mean of token states)",
    default: D.model.textEncoder ?? 'transformer',
  }),
  questionPool: choice({
    choices: ['mean', 'flatten', 'flatten-ends'] as const,
    description:
      "the Transformer's question vector: 'mean' of the token states, 'flatten' (each position its own weights: word order counts) or 'flatten-ends' (positions counted from both ends)",
    default: D.model.questionPool ?? 'mean',
  }),
  headWordOrder: flag({
    description:
      "the answer head also reads the question in word order (its token states counted from both ends, one Linear); FiLM keeps --question-pool's vector",
    default: D.model.headWordOrder ?? false,
  }),
  dropout: number({ description: 'dropout of the text encoder', default: D.model.dropout, min: 0, max: 0.9 }),
  checkpointEvery: int({
    description: 'fine-tuning steps between checkpoints (what --resume continues from)',
    default: D.finetune.checkpointEvery,
  }),
  evalEvery: int({
    description: 'validation accuracy every N steps (the learning curve; 0: at the end)',
    default: D.finetune.evalEvery,
    min: 0,
  }),
  seed: int({ description: 'seed of the data, the model and the batches', default: D.seed, min: 0 }),
  data: string({
    description: 'train on your own folder in the VQA v2 layout instead of generated scenes',
    placeholder: '<dir>',
  }),
  trainSplit: string({ description: 'training split of --data', default: 'train2014' }),
  valSplit: string({ description: 'validation split of --data', default: 'val2014' }),
  imageSize: int({
    description: 'model input side in pixels (images of any size are resized to it)',
    default: D.data.imageSize,
    min: 8,
  }),
  dataDir: string({
    description: 'where the generated dataset lives (made once)',
    default: D.data.dataDir,
    placeholder: '<dir>',
  }),
  runDir: string({
    description: 'checkpoints, logs, report, results and the bundle',
    default: D.runDir,
    placeholder: '<dir>',
  }),
  resume: flag({ description: 'continue from the last checkpoints in --run-dir', default: false }),
  backend: string({ description: 'tensor backend (wasm, cpu, …; default: the library’s choice)' }),
  progress: choice({
    description: 'progress display',
    choices: ['auto', 'bar', 'log', 'none'] as const,
    default: 'auto',
  }),
};

type TrainOptions = ParsedOptions<typeof trainOptions>;

/** The run config: the preset, then every flag that was typed (explicit flags beat presets). */
export function runConfigOf(o: TrainOptions, explicit: ReadonlySet<string>): VqaRunConfig {
  const presetName: PresetName = o.quick ? 'quick' : o.preset;
  if (o.quick && explicit.has('preset') && o.preset !== 'quick')
    throw new UsageError(`--quick and --preset ${o.preset} contradict each other`);
  const base = PRESETS[presetName];
  const typed = <K extends keyof TrainOptions>(k: K) => explicit.has(k as string);
  if (!listFusions().includes(o.fusion))
    throw new UsageError(`--fusion '${o.fusion}' is not registered; registered: ${listFusions().join(', ')}`);
  const c: VqaRunConfig = structuredClone(base);
  if (typed('steps')) c.finetune.steps = o.steps;
  if (typed('pretrainSteps')) c.pretrain.steps = o.pretrainSteps;
  if (typed('trainImages')) c.data.trainImages = o.trainImages;
  if (typed('valImages')) c.data.valImages = o.valImages;
  if (typed('imagesPerBatch')) c.finetune.imagesPerBatch = o.imagesPerBatch;
  if (typed('questionsPerImage')) c.finetune.questionsPerImage = o.questionsPerImage;
  if (typed('lr')) c.finetune.lr = o.lr;
  if (typed('layerDecay')) c.finetune.layerDecay = o.layerDecay;
  // The preset's own options for its fusion (e.g. FiLM's) stay when --fusion names the same one.
  if (typed('fusion') && o.fusion !== base.model.fusion.type) c.model.fusion = { type: o.fusion };
  if (typed('conditionScale')) {
    if (c.model.fusion.type !== 'film')
      throw new UsageError(`--condition-scale is a FiLM option; --fusion is '${c.model.fusion.type}'`);
    c.model.fusion.conditionScale = o.conditionScale;
  }
  if (typed('curriculum')) c.finetune.curriculum = parseCurriculum(o.curriculum ?? '', c.finetune.steps);
  if (typed('dModel')) c.model.dModel = o.dModel;
  if (typed('textEncoder')) c.model.textEncoder = o.textEncoder;
  if (typed('questionPool')) c.model.questionPool = o.questionPool;
  if (c.model.questionPool?.startsWith('flatten') && c.model.textEncoder === 'gru')
    throw new UsageError(
      `--question-pool ${c.model.questionPool} pools the Transformer's tokens; --text-encoder gru has its own vector`,
    );
  if (typed('headWordOrder')) c.model.headWordOrder = o.headWordOrder;
  if (c.model.textEncoder === 'gru') {
    // The GRU reads in order already; the default's word-order vector is the Transformer's.
    if (typed('headWordOrder') && o.headWordOrder)
      throw new UsageError(
        "--head-word-order reads the Transformer's tokens; --text-encoder gru reads in order already",
      );
    c.model.headWordOrder = false;
  }
  if (typed('freeze'))
    c.finetune.freeze = (o.freeze ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (typed('evalEvery')) c.finetune.evalEvery = o.evalEvery;
  if (typed('dropout')) c.model.dropout = o.dropout;
  if (typed('checkpointEvery')) c.finetune.checkpointEvery = o.checkpointEvery;
  if (typed('seed')) c.seed = o.seed;
  if (typed('dataDir')) c.data.dataDir = o.dataDir;
  if (typed('imageSize')) c.data.imageSize = o.imageSize;
  if (o.data !== undefined) {
    for (const k of ['trainImages', 'valImages', 'dataDir'] as const)
      if (typed(k))
        throw new UsageError(`--${kebabCase(k)} is for generated scenes; it does not go with --data`);
    c.dataset = { dir: checkFolder('--data', o.data), trainSplit: o.trainSplit, valSplit: o.valSplit };
  } else if (typed('trainSplit') || typed('valSplit'))
    throw new UsageError(
      '--train-split and --val-split name splits of a --data folder; give --data <dir> too',
    );
  if (typed('runDir')) c.runDir = o.runDir;
  c.resume = o.resume;
  c.progress = o.progress;
  if (o.backend) c.backend = o.backend;
  if (!c.dataset && c.finetune.imagesPerBatch > c.data.trainImages)
    throw new UsageError(
      `--images-per-batch ${c.finetune.imagesPerBatch} is more than the ${c.data.trainImages} training images`,
    );
  return c;
}

/** `--curriculum types:steps` (steps below the run's), or `none`. */
export function parseCurriculum(text: string, runSteps: number): QuestionTypeCurriculum | null {
  if (text.trim() === 'none') return null;
  const at = text.lastIndexOf(':');
  const types = text
    .slice(0, Math.max(at, 0))
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const steps = Number(text.slice(at + 1));
  if (at < 0 || types.length === 0 || !Number.isInteger(steps) || steps < 0)
    throw new UsageError(
      `--curriculum must be 'type,type,…:steps' (e.g. 'horizontal,vertical:300') or 'none', got '${text}'`,
    );
  if (steps >= runSteps)
    throw new UsageError(`--curriculum ${steps} steps would be the whole run (--steps ${runSteps})`);
  return { questionTypes: types, steps };
}

/** `path` when it is a folder, else a `UsageError` naming the flag. */
export function checkFolder(flagName: string, path: string): string {
  if (!existsSync(path)) throw new UsageError(`${flagName} ${path}: no such folder`);
  if (!statSync(path).isDirectory()) throw new UsageError(`${flagName} ${path} is a file, not a folder`);
  return path;
}

/** `path` when it is a file, else a `UsageError` naming the flag. */
export function checkFile(flagName: string, path: string): string {
  if (!existsSync(path)) throw new UsageError(`${flagName} ${path}: no such file`);
  if (!statSync(path).isFile()) throw new UsageError(`${flagName} ${path} is not a file`);
  return path;
}

const demoCommand = defineCommand({
  name: 'demo',
  summary:
    'Generate Sort-of-CLEVR, pretrain on its captions, fine-tune on its questions, evaluate, ask one question',
  options: trainOptions,
  run: async (o, ctx) => {
    const result = await runVqaPipeline(runConfigOf(o, ctx.explicit), ctx.log);
    ctx.log(`\n${formatRun(result)}`);
    // What `eval` and `ask` do, on the bundle just saved.
    const sources = await runSources(result.config, () => {});
    const evaluation = await evaluateBundle(
      await loadVqaBundle(result.bundleDir),
      sources.val,
      sources.train,
    );
    const out = join(result.bundleDir, '..');
    await writeJsonAtomic(join(out, 'eval.json'), evaluation);
    await writeFileAtomic(join(out, 'eval.md'), evaluationMarkdown(evaluation));
    ctx.log(`eval: ${join(out, 'eval.md')} (per answer type, blind baseline, confusions)`);
    await askSample(result.bundleDir, result.config, ctx);
  },
});

const trainCommand = defineCommand({
  name: 'train',
  summary: 'Pretrain and fine-tune (as the demo, without the sample question)',
  options: trainOptions,
  run: async (o, ctx) => {
    const result = await runVqaPipeline(runConfigOf(o, ctx.explicit), ctx.log);
    ctx.log(`\n${formatRun(result)}`);
  },
});

const generateCommand = defineCommand({
  name: 'generate',
  summary: 'Generate the Sort-of-CLEVR train and validation splits (VQA v2 layout + COCO captions)',
  options: {
    trainImages: trainOptions.trainImages,
    valImages: trainOptions.valImages,
    imageSize: trainOptions.imageSize,
    seed: trainOptions.seed,
    dataDir: trainOptions.dataDir,
  },
  run: async (o, ctx) => {
    const data = {
      ...D.data,
      trainImages: o.trainImages,
      valImages: o.valImages,
      imageSize: o.imageSize,
      dataDir: o.dataDir,
    };
    const sources = await ensureGenerated(data, o.seed, ctx.log);
    ctx.log(`train: ${sources.train.root}\nval:   ${sources.val.root}`);
  },
});

const bundleOption = string({
  description: 'bundle folder (a run folder’s bundle/)',
  default: `${D.runDir}/bundle`,
  placeholder: '<dir>',
});

const askCommand = defineCommand({
  name: 'ask',
  summary: 'Answer a question about an image with a trained bundle',
  options: {
    bundle: bundleOption,
    image: string({ description: 'image file (PNG, JPEG, WebP, …)', required: true, placeholder: '<file>' }),
    question: string({ description: 'the question', required: true }),
    top: int({ description: 'answers to show', default: 5 }),
    attentionMap: string({
      description: `save where the question looked as a PNG (fusions: ${ATTENTION_MAP_FUSIONS.join(', ')})`,
      placeholder: '<file.png>',
    }),
    json: flag({ description: 'print the answers as JSON', default: false }),
    backend: trainOptions.backend,
  },
  validate: (o) => {
    checkFolder('--bundle', o.bundle);
    checkFile('--image', o.image);
  },
  examples: ['ask --bundle runs/vqa/bundle --image scene.png --question "What shape is the red object?"'],
  run: async (o, ctx) => {
    if (o.backend) setBackend(o.backend);
    const bundle = await loadVqaBundle(o.bundle);
    if (o.attentionMap !== undefined && !ATTENTION_MAP_FUSIONS.includes(bundle.config.fusion.type))
      throw new UsageError(
        `--attention-map needs a fusion with text → image attention (${ATTENTION_MAP_FUSIONS.join(', ')}); this bundle's fusion is '${bundle.config.fusion.type}'`,
      );
    const image = await readImage(o.image);
    const { answers, notes } = bundle.predict({ image, question: o.question }, o.top);
    if (o.json) ctx.log(JSON.stringify({ answers, notes }));
    else {
      notes.forEach((n) => ctx.log(`note: ${n}`));
      for (const a of answers) ctx.log(`${(100 * a.score).toFixed(1).padStart(5)}%  ${a.answer}`);
    }
    if (o.attentionMap !== undefined) {
      const { ids } = encodeQuestion(bundle.tokenizer, o.question, bundle.config.maxTextLength);
      const map = attentionMap(bundle.model, bundle.processor, image, ids)!;
      await writeFile(o.attentionMap, encodePng(overlayAttention(image, map)));
      if (!o.json) ctx.log(`attention map: ${o.attentionMap}`);
    }
  },
});

const evalCommand = defineCommand({
  name: 'eval',
  summary:
    'Score a bundle with the official VQA accuracy (per question and answer type, blind baseline, confusions)',
  options: {
    bundle: bundleOption,
    data: string({
      description: 'a folder in the VQA v2 layout (default: the data the bundle was trained on)',
      placeholder: '<dir>',
    }),
    trainSplit: string({
      description: 'split of --data the blind baseline learns from',
      default: 'train2014',
    }),
    valSplit: string({ description: 'split of --data to score', default: 'val2014' }),
    out: string({
      description: 'where eval.json and eval.md go (default: next to the bundle)',
      placeholder: '<dir>',
    }),
    backend: trainOptions.backend,
  },
  validate: (o, ctx) => {
    checkFolder('--bundle', o.bundle);
    if (o.data !== undefined) checkFolder('--data', o.data);
    else if (ctx.explicit.has('trainSplit') || ctx.explicit.has('valSplit'))
      throw new UsageError(
        '--train-split and --val-split name splits of a --data folder; give --data <dir> too',
      );
  },
  examples: ['eval --bundle runs/vqa/bundle --data data/vqa-v2 --val-split val2014'],
  run: async (o, ctx) => {
    if (o.backend) setBackend(o.backend);
    const bundle = await loadVqaBundle(o.bundle);
    let sources: { train: SplitSource; val: SplitSource };
    if (o.data !== undefined)
      sources = { train: { root: o.data, split: o.trainSplit }, val: { root: o.data, split: o.valSplit } };
    else {
      const args = bundle.trainingArgs as VqaRunConfig;
      if (typeof args?.data !== 'object')
        throw new UsageError(
          `${o.bundle}/training_args.json does not say what data it trained on; give --data <dir>`,
        );
      sources = await runSources(args, ctx.log);
    }
    if (!hasSplit(sources.val))
      throw new UsageError(
        `${sources.val.root} has no ${sources.val.split} split (v2_OpenEnded_mscoco_${sources.val.split}_questions.json)`,
      );
    const train = hasSplit(sources.train) ? sources.train : null;
    if (!train) ctx.log(`note: no ${sources.train.split} split in ${sources.train.root}: no blind baseline`);
    const evaluation = await evaluateBundle(bundle, sources.val, train);
    const out = o.out ?? join(o.bundle, '..');
    await mkdir(out, { recursive: true });
    await writeJsonAtomic(join(out, 'eval.json'), evaluation);
    const markdown = evaluationMarkdown(evaluation);
    await writeFileAtomic(join(out, 'eval.md'), markdown);
    ctx.log(markdown);
    ctx.log(`written: ${join(out, 'eval.json')}, ${join(out, 'eval.md')}`);
  },
});

const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Serve a bundle: POST /api/answer and a web page that also answers in the browser',
  options: {
    bundle: bundleOption,
    port: int({ description: 'port to listen on (0: any free port)', default: 8080, min: 0, max: 65535 }),
    host: string({ description: 'address to listen on', default: '127.0.0.1' }),
    maxUploadMb: number({
      description: 'largest accepted upload in MiB (413 above)',
      default: 10,
      min: 0,
      exclusiveMin: true,
    }),
    maxMegapixels: number({
      description: 'largest accepted image in megapixels (422 above; checked before decoding)',
      default: 40,
      min: 0,
      exclusiveMin: true,
    }),
    backend: trainOptions.backend,
  },
  validate: (o) => {
    checkFolder('--bundle', o.bundle);
  },
  examples: ['serve --bundle runs/vqa/bundle --port 8080'],
  run: async (o, ctx) => {
    if (o.backend) setBackend(o.backend);
    const server = await startVqaServer({
      bundleDir: o.bundle,
      port: o.port,
      host: o.host,
      maxUploadBytes: Math.round(o.maxUploadMb * 1024 * 1024),
      maxImagePixels: Math.round(o.maxMegapixels * 1e6),
    });
    ctx.log(`serving ${o.bundle} at ${server.url} (POST ${server.url}api/answer; Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
});

/** The demo's last step: one validation image, one question, the bundle's top answers. */
async function askSample(bundleDir: string, config: VqaRunConfig, ctx: CommandContext): Promise<void> {
  const { val } = await runSources(config, () => {});
  const { readSplit } = await import('./data/dataset.js');
  const sample = (await readSplit(val)).samples[0]!;
  const bundle = await loadVqaBundle(bundleDir);
  const { answers } = bundle.predict(
    { image: await readImage(sample.imagePath), question: sample.question },
    3,
  );
  ctx.log(`\nask --image ${sample.imagePath} --question "${sample.question}"`);
  ctx.log(
    `  ${answers.map((a) => `${a.answer} ${(100 * a.score).toFixed(1)}%`).join(', ')} (true answer: ${sample.answers[0]})`,
  );
}

export const vqaApp: AppSpec = {
  name: 'polymodal-vqa',
  commands: [demoCommand, generateCommand, trainCommand, evalCommand, askCommand, serveCommand],
  defaultCommand: 'demo',
};
