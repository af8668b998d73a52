/**
 * Data-loader throughput: one epoch of @polymodal/data's `DataLoader` over a generated
 * Sort-of-CLEVR set read through the VQA v2 reader (decode → preprocess → tokenize → collate into
 * tensors), with decoding and preprocessing in the `ImageDecodePool` workers, decoding only in the
 * workers, or everything on the main thread.
 *
 *   pnpm --filter @polymodal/data build
 *   node tooling/bench/src/data-loader-bench.mjs [--images 10000] [--size 64] [--batch 64]
 *        [--prefetch 4] [--workers 2] [--repeats 3]
 *        [--modes pool-pre,pool-js-pre,pool,pool-js,main,main-js] [--dir PATH] [--out DIR] [--clean]
 *   node tooling/bench/src/data-loader-bench.mjs --render-only [--out DIR]   # re-write the .md from the .json
 *
 * The images are generated once into os.tmpdir() and reused by later runs (`--clean` deletes them
 * at the end). Writes tooling/bench/results/data-loader.json and .md.
 *
 * CPU utilisation is process CPU time (`process.cpuUsage()`, all threads: main, decode workers,
 * libuv/libvips threads) divided by wall time, so it can reach the number of cores. Main-thread
 * and worker busy shares are event-loop utilisation (`performance.eventLoopUtilization()`, and
 * the pool's per-worker figure): the share of the epoch each JavaScript thread was running code.
 * The machine is usually shared: compare the modes of one run, not absolute numbers across runs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MODES = {
  'pool-pre': 'ImageDecodePool workers decode (sharp) and preprocess; main thread tokenizes and collates',
  'pool-js-pre':
    'ImageDecodePool workers decode (pure-JS pngjs) and preprocess; main thread tokenizes and collates',
  pool: 'ImageDecodePool workers decode (sharp); preprocessing on the main thread',
  'pool-js': 'ImageDecodePool workers decode (pure-JS pngjs); preprocessing on the main thread',
  main: 'no pool: decodeImageFile (sharp, async on libvips threads) and preprocessing on the main thread',
  'main-js': 'no pool: pure-JS decoding (pngjs) and preprocessing on the main thread',
};
const POOL_MODES = new Set(['pool-pre', 'pool-js-pre', 'pool', 'pool-js']);

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '10000' },
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '64' },
    prefetch: { type: 'string', default: '4' },
    workers: { type: 'string', default: '2' },
    modes: { type: 'string', default: Object.keys(MODES).join(',') },
    seed: { type: 'string', default: '1' },
    dir: { type: 'string' },
    out: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    clean: { type: 'boolean', default: false },
    'render-only': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}
const outDir = args.out ?? fileURLToPath(new URL('../results/', import.meta.url));
if (args['render-only']) {
  const json = JSON.parse(readFileSync(join(outDir, 'data-loader.json'), 'utf8'));
  writeFileSync(join(outDir, 'data-loader.md'), renderMarkdown(json));
  console.log(`re-wrote ${join(outDir, 'data-loader.md')} from data-loader.json`);
  process.exit(0);
}

/** The Markdown report, from the JSON one alone (so `--render-only` can re-write it). */
function renderMarkdown({ date, machine, config, consistent, stages, results }) {
  const { images, imageSize: size, batchSize, prefetch, workers, repeats, sharpAvailable } = config;
  const fingerprintEvery = config.fingerprintEvery ?? 8;
  const base = results.find((r) => r.mode === 'main') ?? results[0];
  const pct = (x) => `${Math.round(x * 100)} %`;
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const ms = (x) => (x === null ? 'n/a' : `${x.toFixed(3)} ms`);
  const best = [...results].sort((a, b) => b.imagesPerSec - a.imagesPerSec)[0];
  const spread = Math.max(
    ...results.map((r) => Math.max(...r.imagesPerSecAll) / Math.min(...r.imagesPerSecAll)),
  );

  /** One sentence per mode on what bounds it, read off the busy shares. */
  function bound(r) {
    const workersBusy = mean(r.workerBusy);
    const cores = `${r.cpuUtilisation.toFixed(2)} of ${machine.availableParallelism} cores`;
    if (r.workerBusy.length === 0)
      return `everything runs on the main thread (${pct(r.mainThreadBusy)} busy, ${cores}): it is the bottleneck.`;
    if (r.mainThreadBusy >= 0.85)
      return `the main thread is the bottleneck (${pct(r.mainThreadBusy)} busy; workers ${pct(workersBusy)}; ${cores}).`;
    if (workersBusy >= 0.85)
      return `the workers are the bottleneck (${pct(workersBusy)} busy) and the main thread has ${pct(1 - r.mainThreadBusy)} to spare; ${cores}.`;
    return `neither thread is saturated (main ${pct(r.mainThreadBusy)}, workers ${pct(workersBusy)}; ${cores}).`;
  }

  return [
    '# Data-loader benchmark',
    '',
    `Date: ${date}. Machine: ${machine.logicalCores} × ${machine.cpuModel}, ${machine.totalMemoryGiB} GiB, ` +
      `${machine.platform}, Node ${machine.node}; load average before/after: ${machine.loadavgBefore.join(' ')} / ${machine.loadavgAfter.join(' ')} (shared machine).`,
    '',
    `One epoch of \`DataLoader\` over ${images.toLocaleString('en-US')} Sort-of-CLEVR PNGs (${size} px, generated ` +
      'by `generateDataset`, read with `readVqaV2`): decode → `ImageProcessor` (bilinear resize, rescale, ImageNet ' +
      `normalise, to CHW) → tokenize → \`collate\` into tensors; batch ${batchSize}, prefetch ${prefetch}, shuffled, ` +
      `${workers} workers where a pool is used. sharp available: ${sharpAvailable ? 'yes' : 'no'}.`,
    '',
    `Each mode ran ${repeats} epoch(s), modes alternating; the table shows each mode's median epoch ` +
      '(all epochs in data-loader.json). The loop does no training, so it measures the loader alone.',
    '',
    `| mode | images/s | wall s | CPU (cores) | main thread busy | workers busy | main-thread ms/image | vs ${base.mode} | every epoch, images/s |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...results.map(
      (r) =>
        `| ${r.mode} | ${r.imagesPerSec.toFixed(0)} | ${(r.wallMs / 1000).toFixed(2)} | ${r.cpuUtilisation.toFixed(2)} | ` +
        `${pct(r.mainThreadBusy)} | ${r.workerBusy.length ? r.workerBusy.map(pct).join(', ') : '–'} | ` +
        `${r.mainThreadMsPerImage.toFixed(3)} | ${(r.imagesPerSec / base.imagesPerSec).toFixed(2)} | ` +
        `${r.imagesPerSecAll.map((x) => x.toFixed(0)).join(', ')} |`,
    ),
    '',
    ...results.map((r) => `- **${r.mode}**: ${r.description}.`),
    '',
    '- CPU (cores): process CPU time of all threads (main, workers, libuv/libvips) / wall time.',
    '- busy: event-loop utilisation of that thread over the epoch (`performance.eventLoopUtilization()`; the',
    "  workers' from `ImageDecodePool.eventLoopUtilization()`). On a shared machine it also counts time a",
    '  runnable thread waited for a core, so read it as "never idle", not as CPU time.',
    '- main-thread ms/image: main-thread busy time / images, i.e. what the main thread spends per image in that mode.',
    '',
    ...(spread > 1.2
      ? [
          `Epochs of one mode differed by up to ${spread.toFixed(2)}× in this run: other processes shared the ` +
            'cores (see the load average), so differences between modes smaller than that are noise; the busy ' +
            'shares say more than the rates about where the time goes.',
          '',
        ]
      : []),
    `All modes produced bit-identical pixels (SHA-256 over every ${fingerprintEvery}th batch): ${consistent ? 'yes' : 'NO (fingerprints differ)'}.`,
    '',
    '## What bounds each mode',
    '',
    ...results.map((r) => `- **${r.mode}** (${r.imagesPerSec.toFixed(0)} images/s): ${bound(r)}`),
    '',
    `Fastest: **${best.mode}**, ${best.imagesPerSec.toFixed(0)} images/s at ${best.cpuUtilisation.toFixed(2)} cores.`,
    '',
    `## Cost of each stage on the main thread (one image at a time, ${stages.images} images)`,
    '',
    '| stage | ms/image | where it runs in the -pre modes |',
    '|---|---:|---|',
    `| decode, sharp | ${ms(stages.decodeSharpMs)} | worker (pool-pre) |`,
    `| decode, pngjs | ${ms(stages.decodeJsMs)} | worker (pool-js-pre) |`,
    `| preprocess: resize, rescale, normalise, to CHW | ${ms(stages.preprocessMs)} | worker |`,
    `| tokenize | ${ms(stages.tokenizeMs)} | main thread |`,
    `| soft answer target | ${ms(stages.softTargetMs)} | main thread |`,
    `| collate (per image of a batch of ${batchSize}) | ${ms(stages.collateMs)} | main thread |`,
    '',
    'In the -pre modes the main thread also receives each result (a transferred `Float32Array`, no copy)',
    'and resolves its promise; the "main-thread ms/image" column above is the measured total of all of it.',
    '',
    `Re-run: \`pnpm --filter @polymodal/data build && node tooling/bench/src/data-loader-bench.mjs --images ${images}\`.`,
    '',
  ].join('\n');
}

function positiveInt(name) {
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${name} must be a positive integer, got ${args[name]}`);
  return v;
}
const images = positiveInt('images');
const size = positiveInt('size');
const batchSize = positiveInt('batch');
const prefetch = Number(args.prefetch);
const workers = positiveInt('workers');
const repeats = positiveInt('repeats');
const seed = Number(args.seed);
const modes = args.modes.split(',').map((m) => m.trim());
for (const m of modes)
  if (!(m in MODES)) throw new Error(`unknown mode '${m}'; use ${Object.keys(MODES).join(', ')}`);

/**
 * `@polymodal/data` by package name (its built `dist`). Until the lead adds it to
 * tooling/bench's dependencies it does not resolve from here; then the workspace's built copy is
 * imported by path.
 */
async function loadData() {
  try {
    return await import('@polymodal/data');
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes("'@polymodal/data'")) throw e;
    const dist = new URL('../../../packages/data/dist/index.js', import.meta.url);
    if (!existsSync(dist))
      throw new Error('packages/data/dist is missing: run `pnpm --filter @polymodal/data build`');
    console.warn(
      'note: @polymodal/data is not a dependency of @polymodal/bench; importing packages/data/dist/index.js',
    );
    return import(dist.href);
  }
}
const data = await loadData();
const {
  AnswerVocab,
  buildWordVocab,
  collate,
  DataLoader,
  decodeImageFile,
  generateDataset,
  ImageDecodePool,
  ImageProcessor,
  loadSharp,
  readVqaV2,
  vqaDataset,
  WordPieceTokenizer,
} = data;

// ---- data set: generated once, reused ------------------------------------------------------------

// The renderer tag is part of the cache key: scenes drawn before the pixel-exact span renderer
// (anti-aliased canvas paths) are not reused.
const renderer = 'spans-v1';
const dir =
  args.dir ?? join(os.tmpdir(), `polymodal-sort-of-clevr-${renderer}-${images}x${size}-seed${seed}`);
const metaPath = join(dir, 'bench-meta.json');
const wanted = { images, size, seed, questionsPerImage: 1, renderer };
let generatedMs = null;
const haveMeta =
  existsSync(metaPath) &&
  JSON.stringify(JSON.parse(readFileSync(metaPath, 'utf8'))) === JSON.stringify(wanted);
if (!haveMeta) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(`generating ${images} Sort-of-CLEVR images (${size} px) into ${dir} …`);
  const t0 = performance.now();
  await generateDataset({
    images,
    seed,
    out: dir,
    size,
    // One question per image: an epoch decodes every image exactly once.
    questionsPerImage: 1,
    captionsPerImage: 1,
    onProgress: (done) => {
      if (done % 2000 === 0) console.log(`  ${done}/${images}`);
    },
  });
  generatedMs = performance.now() - t0;
  writeFileSync(metaPath, JSON.stringify(wanted));
  console.log(`generated in ${(generatedMs / 1000).toFixed(1)} s`);
} else {
  console.log(`reusing ${dir}`);
}
const pngCount = readdirSync(join(dir, 'train2014')).filter((f) => f.endsWith('.png')).length;

const { samples, report } = await readVqaV2({ root: dir, split: 'train2014' });
if (samples.length !== images)
  throw new Error(`expected ${images} samples, the reader found ${samples.length}`);
const tokenizer = new WordPieceTokenizer(buildWordVocab(samples.map((s) => s.question)));
const answers = AnswerVocab.build(samples.map((s) => s.multipleChoiceAnswer ?? ''));
// ViT-style preprocessing at the image's own size: bilinear resize, rescale to [0, 1], ImageNet normalisation.
const processorConfig = {
  do_resize: true,
  size: { height: size, width: size },
  resample: 2,
  do_rescale: true,
  do_normalize: true,
};
const processor = ImageProcessor.fromConfig(processorConfig);
const sharpAvailable = (await loadSharp()) !== null;

// ---- one epoch per mode ------------------------------------------------------------------------

/** How many batches feed the cross-mode pixel fingerprint: every FINGERPRINT_EVERY-th (native SHA-256). */
const FINGERPRINT_EVERY = 8;

async function runMode(mode) {
  let pool = null;
  if (POOL_MODES.has(mode)) {
    pool = new ImageDecodePool({ workers, useSharp: !mode.includes('-js') });
    await pool.decode(samples[0].imagePath); // start the workers (and load sharp) before timing
  } else if (mode === 'main') {
    await decodeImageFile(samples[0].imagePath); // load sharp before timing
  }
  // vqaDataset with preprocessIn 'main' only calls `pool.decode(path)`; main-js forces the
  // pure-JS codecs on this thread through that hook.
  const decoder = mode === 'main-js' ? { decode: (path) => decodeImageFile(path, { backend: 'js' }) } : pool;
  const dataset = vqaDataset(samples, {
    tokenizer,
    processor,
    answers,
    maxLength: 16,
    pool: decoder ?? undefined,
    preprocessIn: mode.endsWith('-pre') ? 'worker' : 'main',
    report,
  });
  const loader = new DataLoader(dataset, {
    batchSize,
    shuffle: true,
    seed: 0,
    prefetch,
    collate: (items) => collate(items, { padId: tokenizer.padId }),
  });
  globalThis.gc?.();
  let seen = 0;
  let batches = 0;
  const fingerprint = createHash('sha256');
  let waitMs = 0;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const workerElu0 = pool?.eventLoopUtilization();
  const t0 = performance.now();
  const it = loader[Symbol.asyncIterator]();
  for (;;) {
    const w0 = performance.now();
    const { value: batch, done } = await it.next();
    waitMs += performance.now() - w0;
    if (done) break;
    const [n, c, h, w] = batch.pixelValues.shape;
    if (c !== 3 || h !== size || w !== size)
      throw new Error(`unexpected pixelValues shape [${batch.pixelValues.shape}]`);
    seen += n;
    // Bit-exact fingerprint of a sample of the batches, to check that the modes agree.
    if (batches % FINGERPRINT_EVERY === 0) {
      const px = batch.pixelValues.dataSync();
      fingerprint.update(new Uint8Array(px.buffer, px.byteOffset, px.byteLength));
    }
    batches++;
    for (const v of Object.values(batch)) if (typeof v?.dispose === 'function') v.dispose();
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const mainElu = performance.eventLoopUtilization(elu0).utilization;
  const workerElu = pool ? pool.eventLoopUtilization(workerElu0).map((e) => round(e.utilization, 3)) : [];
  await pool?.close();
  if (seen !== images) throw new Error(`${mode}: the epoch yielded ${seen} of ${images} images`);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    mode,
    description: MODES[mode],
    images: seen,
    batches,
    wallMs: round(wallMs, 1),
    imagesPerSec: round((seen / wallMs) * 1000, 1),
    cpuUserMs: round(cpu.user / 1000, 1),
    cpuSystemMs: round(cpu.system / 1000, 1),
    cpuUtilisation: round(cpuMs / wallMs, 2),
    // Share of the epoch the main thread's event loop was running JavaScript, and its busy time per image.
    mainThreadBusy: round(mainElu, 3),
    mainThreadMsPerImage: round((mainElu * wallMs) / seen, 4),
    workerBusy: workerElu,
    // Time the consumer spent waiting for the next batch (all of it here: the loop does no training).
    consumerWaitMs: round(waitMs, 1),
    fingerprint: fingerprint.digest('hex').slice(0, 16),
  };
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Main-thread cost of each stage, one image at a time over the first samples (ms per image; collate
 * per image of a full batch): shows which stage bounds the loader once decoding moves to workers.
 */
async function stageCosts(count) {
  const subset = samples.slice(0, count);
  const time = async (fn) => {
    await fn(subset[0]);
    const t0 = performance.now();
    for (const s of subset) await fn(s);
    return round((performance.now() - t0) / subset.length, 4);
  };
  const decoded = [];
  for (const s of subset.slice(0, batchSize))
    decoded.push(processor.preprocessToChw(await decodeImageFile(s.imagePath)));
  const items = decoded.map((img, i) => ({
    inputIds: tokenizer.encode(subset[i].question).inputIds,
    pixelValues: img,
    target: answers.softTarget(subset[i].answers),
  }));
  const t0 = performance.now();
  const reps = 5;
  for (let r = 0; r < reps; r++) {
    const batch = collate(items, { padId: tokenizer.padId });
    for (const v of Object.values(batch)) if (typeof v?.dispose === 'function') v.dispose();
  }
  const collateMs = round((performance.now() - t0) / (reps * items.length), 4);
  const raw = await decodeImageFile(subset[0].imagePath);
  return {
    images: subset.length,
    decodeSharpMs: sharpAvailable
      ? await time((s) => decodeImageFile(s.imagePath, { backend: 'sharp' }))
      : null,
    decodeJsMs: await time((s) => decodeImageFile(s.imagePath, { backend: 'js' })),
    // ImageProcessor (resize, rescale, normalize) + HWC → CHW: what the -pre modes move to the workers.
    preprocessMs: await time(() => processor.preprocessToChw(raw)),
    tokenizeMs: await time((s) =>
      tokenizer.encode(s.question, undefined, { truncation: true, maxLength: 16 }),
    ),
    softTargetMs: await time((s) => answers.softTarget(s.answers)),
    // Stacking CHW images, padding ids, building masks and targets into tensors (per image of a batch).
    collateMs,
  };
}

const loadavgBefore = os.loadavg();
const stages = await stageCosts(Math.min(256, samples.length));
console.log('main-thread stage costs (ms/image):', stages);
// Rounds alternate the modes so that drifting load on a shared machine hits them alike; each mode
// reports its median-throughput epoch.
const runs = Object.fromEntries(modes.map((m) => [m, []]));
for (let rep = 0; rep < repeats; rep++) {
  for (const mode of rep % 2 === 0 ? modes : [...modes].reverse()) {
    const r = await runMode(mode);
    console.log(
      `epoch ${rep + 1}/${repeats} ${mode}: ${r.imagesPerSec} images/s, CPU ${r.cpuUtilisation} cores, ` +
        `main thread ${(r.mainThreadBusy * 100).toFixed(0)} % busy, workers [${r.workerBusy.join(', ')}], ${(r.wallMs / 1000).toFixed(2)} s`,
    );
    runs[mode].push(r);
  }
}
const results = modes.map((mode) => {
  const sorted = [...runs[mode]].sort((a, b) => a.imagesPerSec - b.imagesPerSec);
  const median = sorted[Math.floor(sorted.length / 2)];
  return { ...median, epochs: sorted.length, imagesPerSecAll: runs[mode].map((r) => r.imagesPerSec) };
});
const consistent = Object.values(runs)
  .flat()
  .every((r) => r.fingerprint === results[0].fingerprint);
if (!consistent) console.warn('warning: the modes produced different pixels (fingerprints differ)');

// ---- results -----------------------------------------------------------------------------------

const cpus = os.cpus();
const machine = {
  cpuModel: cpus[0]?.model.trim() ?? 'unknown',
  logicalCores: cpus.length,
  availableParallelism: os.availableParallelism(),
  totalMemoryGiB: round(os.totalmem() / 2 ** 30, 1),
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  node: process.version,
  loadavgBefore: loadavgBefore.map((x) => round(x, 2)),
  loadavgAfter: os.loadavg().map((x) => round(x, 2)),
};
const date = new Date().toISOString();
const config = {
  images,
  imageSize: size,
  batchSize,
  prefetch,
  workers,
  repeats,
  shuffle: true,
  preprocess: processorConfig,
  tokenizer: `word-level WordPiece vocab of ${tokenizer.vocab.size} tokens, maxLength 16`,
  answers: answers.size,
  sharpAvailable,
  dataDir: dir,
  pngFiles: pngCount,
  generatedMs: generatedMs === null ? null : round(generatedMs, 0),
  fingerprintEvery: FINGERPRINT_EVERY,
};
const json = { date, machine, config, consistent, stages, results };
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'data-loader.json'), `${JSON.stringify(json, null, 2)}\n`);

writeFileSync(join(outDir, 'data-loader.md'), renderMarkdown(json));
console.log(`wrote ${join(outDir, 'data-loader.json')} and data-loader.md`);

if (args.clean) rmSync(dir, { recursive: true, force: true });
