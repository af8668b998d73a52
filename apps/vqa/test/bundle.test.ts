import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVqaBundle, saveVqaBundle } from '../src/bundle.js';
import { predictWith, type VqaPrediction } from '../src/bundle-core.js';
import { QUICK_CONFIG, type VqaRunConfig } from '../src/config.js';
import { vqaImageProcessor } from '../src/data/dataset.js';
import { VqaModel } from '../src/model/vqa-model.js';
import { modelConfigOf, prepareData } from '../src/pipeline.js';
import { finetune } from '../src/training/finetune.js';
import { FIXTURE, tempDir } from './helpers.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const dir = tempDir();
const bundleDir = join(dir, 'bundle');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config: VqaRunConfig = structuredClone(QUICK_CONFIG);
config.data.imageSize = 16;
const asks = readdirSync(join(FIXTURE, 'val2014')).flatMap((f) =>
  ['What color is the shape?', 'Is the shape a circle?', 'zyzzyva?'].map((question) => ({
    image: join(FIXTURE, 'val2014', f),
    question,
  })),
);
const before: VqaPrediction[] = [];

/** A copy of the bundle with one file changed by `edit`. */
function edited(name: string, edit: (path: string) => void): string {
  const copy = join(tempDir(), 'bundle');
  cpSync(bundleDir, copy, { recursive: true });
  edit(join(copy, name));
  return copy;
}

beforeAll(async () => {
  const data = await prepareData(
    { train: { root: FIXTURE, split: 'train2014' }, val: { root: FIXTURE, split: 'val2014' } },
    16,
    () => {},
  );
  const model = new VqaModel(modelConfigOf(config, data.vocab));
  const answers = data.vocab.answers.answers;
  await finetune(
    model,
    data.train,
    data.val,
    answers,
    data.vocab.tokenizer.padId,
    {
      ...config.finetune,
      steps: 3,
      imagesPerBatch: 2,
      questionsPerImage: 2,
      evalEvery: 0,
      seed: 1,
      resume: false,
      progress: 'none',
    },
    join(dir, 'run'),
    () => {},
  );
  model.eval();
  const { readImage } = await import('../src/bundle.js');
  const predictor = {
    model,
    tokenizer: data.vocab.tokenizer,
    processor: vqaImageProcessor(16),
    answers,
  };
  for (const a of asks)
    before.push(
      predictWith(predictor, { image: await readImage(a.image), question: a.question }, answers.length),
    );
  await saveVqaBundle(bundleDir, { model, tokenizer: data.vocab.tokenizer, answers, trainingArgs: config });
}, 120_000);

describe('VQA bundle', () => {
  it('has the six files, PyTorch-style weight names and HF preprocessor keys', () => {
    expect(readdirSync(bundleDir).sort()).toEqual(
      [
        'answers.json',
        'config.json',
        'model.safetensors',
        'preprocessor_config.json',
        'training_args.json',
        'vocab.txt',
      ].sort(),
    );
    const config = JSON.parse(readFileSync(join(bundleDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'polymodal-vqa', imageSize: 16, fusion: { type: 'film' } });
    const bytes = readFileSync(join(bundleDir, 'model.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    expect(Object.keys(header)).toContain('head.0.weight');
    expect(Object.keys(header).some((k) => /^image\.convs\.1\.running_mean$/.test(k))).toBe(true);
    const pre = JSON.parse(readFileSync(join(bundleDir, 'preprocessor_config.json'), 'utf8'));
    expect(pre).toMatchObject({ do_resize: true, size: { height: 16, width: 16 }, do_normalize: true });
  });

  it('a new process loads it and gives the same answers and scores, bit for bit', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@polymodal/source',
        join(here, 'predict-child.ts'),
        bundleDir,
        JSON.stringify(asks),
      ],
      { cwd: join(here, '..'), timeout: 120_000, maxBuffer: 1 << 24 },
    );
    const after = JSON.parse(stdout) as VqaPrediction[];
    expect(after).toHaveLength(before.length);
    // Float32 scores survive JSON exactly (a double prints its shortest round-trip form).
    expect(after).toEqual(before);
    expect(after.at(-1)!.notes[0]).toMatch(/no word of the question/);
  }, 120_000);

  it('a bundle missing a file names it', async () => {
    const copy = edited('vocab.txt', (p) => rmSync(p));
    await expect(loadVqaBundle(copy)).rejects.toThrow(/not a complete VQA bundle: missing vocab\.txt/);
  });

  it('files from different configs name the mismatched keys', async () => {
    let saved = 0;
    const wider = edited('config.json', (p) => {
      const c = JSON.parse(readFileSync(p, 'utf8'));
      saved = c.dModel;
      writeFileSync(p, JSON.stringify({ ...c, dModel: 2 * saved }));
    });
    await expect(loadVqaBundle(wider)).rejects.toThrow(
      new RegExp(
        `model\\.safetensors does not fit the architecture in .*config\\.json \\(dModel: ${2 * saved} in config\\.json, ${saved} in the weights.*text\\.tokens\\.weight \\(expected \\[13,${2 * saved}\\], got \\[13,${saved}\\]\\)`,
        's',
      ),
    );
    const answers = edited('answers.json', (p) => writeFileSync(p, JSON.stringify(['yes', 'no'])));
    await expect(loadVqaBundle(answers)).rejects.toThrow(
      /numAnswers: 7 in config\.json, 2 answers in answers\.json/,
    );
    const size = edited('preprocessor_config.json', (p) => {
      const c = JSON.parse(readFileSync(p, 'utf8'));
      writeFileSync(p, JSON.stringify({ ...c, size: { height: 32, width: 32 } }));
    });
    await expect(loadVqaBundle(size)).rejects.toThrow(
      /imageSize: 16 in config\.json.*preprocessor_config\.json/,
    );
    const notJson = edited('config.json', (p) => writeFileSync(p, '{"model_type": '));
    await expect(loadVqaBundle(notJson)).rejects.toThrow(/config\.json is not valid JSON/);
    const truncated = edited('model.safetensors', (p) => writeFileSync(p, readFileSync(p).subarray(0, 100)));
    await expect(loadVqaBundle(truncated)).rejects.toThrow(/model\.safetensors/);
  });
});
