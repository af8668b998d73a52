import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImageFile } from '@polymodal/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, FIXTURE, fixtureCopy, TINY_TRAIN, tempDir } from './helpers.js';

const dir = tempDir();
const runDir = join(dir, 'run');
const bundle = join(runDir, 'bundle');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vqa CLI: usage errors exit 2 and list what is valid', () => {
  it('an unknown subcommand', async () => {
    const r = await cli('trian');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command 'trian'.*did you mean 'train'/);
    for (const c of ['demo', 'train', 'generate', 'ask']) expect(r.err).toContain(c);
  });

  it('an unknown option', async () => {
    const r = await cli('ask', '--imag', 'x.png');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--imag'.*--image/);
  });

  it('bad numbers name the flag before anything runs; negative numbers are values, not flags', async () => {
    for (const argv of [
      ['train', '--steps', '-5'],
      ['train', '--quick', '--steps=-5'],
      ['train', '--steps', 'abc'],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/--steps must be a positive integer, got "(-5|abc)"/);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    }
    const lr = await cli('train', '--lr', '0');
    expect([lr.code, lr.err]).toEqual([2, expect.stringMatching(/--lr/)]);
    const scale = await cli('train', '--fusion', 'concat', '--condition-scale', '8');
    expect([scale.code, scale.err]).toEqual([
      2,
      expect.stringMatching(/--condition-scale is a FiLM option; --fusion is 'concat'/),
    ]);
    const pool = await cli('train', '--text-encoder', 'gru', '--question-pool', 'flatten');
    expect([pool.code, pool.err]).toEqual([
      2,
      expect.stringMatching(/--question-pool flatten pools the Transformer/),
    ]);
    const order = await cli('train', '--text-encoder', 'gru', '--head-word-order');
    expect([order.code, order.err]).toEqual([
      2,
      expect.stringMatching(/--head-word-order reads the Transformer's tokens/),
    ]);
    const form = await cli('train', '--curriculum', 'horizontal');
    expect([form.code, form.err]).toEqual([
      2,
      expect.stringMatching(/--curriculum must be 'type,type,…:steps'/),
    ]);
    const fusion = await cli('train', '--fusion', 'nope');
    expect([fusion.code, fusion.err]).toEqual([
      2,
      expect.stringMatching(/--fusion 'nope' is not registered; registered: .*film/),
    ]);
  });

  it('--data that is not a folder, split names without --data, generator flags with --data', async () => {
    expect((await cli('train', '--data', join(dir, 'nope'))).err).toMatch(/--data .*nope: no such folder/);
    const r = await cli('train', '--train-split', 'x');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--train-split .* give --data/);
    const g = await cli('train', '--data', FIXTURE, '--train-images', '5');
    expect(g.code).toBe(2);
    expect(g.err).toMatch(/--train-images is for generated scenes/);
  });
});

describe('vqa generate', () => {
  it('writes both splits in the VQA v2 layout at --image-size', async () => {
    const data = join(dir, 'gen');
    const r = await cli(
      'generate',
      '--train-images',
      '4',
      '--val-images',
      '2',
      '--image-size',
      '24',
      '--data-dir',
      data,
    );
    expect(r.code).toBe(0);
    const train = /train: (.+)/.exec(r.out)![1]!;
    expect(train).toContain('24px');
    const image = readdirSync(join(train, 'train2014'))[0]!;
    const { width, height } = await decodeImageFile(join(train, 'train2014', image));
    expect([width, height]).toEqual([24, 24]);
    const questions = JSON.parse(
      readFileSync(join(train, 'v2_OpenEnded_mscoco_train2014_questions.json'), 'utf8'),
    );
    expect(questions.questions).toHaveLength(4 * 10);
  }, 60_000);
});

describe('vqa train --data on a folder of mixed-size JPEG and PNG images', () => {
  beforeAll(async () => {
    const r = await cli('train', ...TINY_TRAIN, '--run-dir', runDir);
    if (r.code !== 0) throw new Error(r.err);
  }, 120_000);

  it('trains at the --image-size input and saves a bundle that says so', () => {
    const pre = JSON.parse(readFileSync(join(bundle, 'preprocessor_config.json'), 'utf8'));
    expect(pre.size).toEqual({ height: 16, width: 16 });
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    expect(config.imageSize).toBe(16);
    const args = JSON.parse(readFileSync(join(bundle, 'training_args.json'), 'utf8'));
    expect(args.dataset).toEqual({ dir: FIXTURE, trainSplit: 'train2014', valSplit: 'val2014' });
    expect(args.finetune.steps).toBe(3);
    // The fixture's answers, in head order after the unknown-answer slot.
    const answers = JSON.parse(readFileSync(join(bundle, 'answers.json'), 'utf8'));
    expect([...answers].sort()).toEqual(['[UNK]', 'blue', 'green', 'no', 'orange', 'red', 'yes'].sort());
  });

  it('the bare command is the whole demo: train, eval files, one sample question', async () => {
    const demo = join(dir, 'demo');
    const r = await cli(...TINY_TRAIN, '--run-dir', demo);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(/VQA accuracy \(official metric\) on 6 questions/);
    expect(r.out).toContain(`eval: ${join(demo, 'eval.md')}`);
    expect(readFileSync(join(demo, 'eval.md'), 'utf8')).toMatch(
      /\*\*Overall: [\d.]+ %\*\* \(blind baseline 33\.3 %\)/,
    );
    expect(r.out).toMatch(
      /ask --image .*COCO_val2014_000000000101\.png --question "What color is the shape\?"\n {2}\S+ [\d.]+%.*\(true answer: red\)/,
    );
  }, 60_000);

  it('explicit flags win over --quick', async () => {
    const q = join(dir, 'quick');
    const r = await cli(
      'train',
      ...TINY_TRAIN,
      '--quick',
      '--steps',
      '2',
      '--condition-scale',
      '3',
      '--d-model',
      '16',
      '--curriculum',
      'what color is the:1',
      '--run-dir',
      q,
    );
    expect([r.code, r.err]).toEqual([0, '']);
    const args = JSON.parse(readFileSync(join(q, 'bundle', 'training_args.json'), 'utf8'));
    expect(args.finetune.steps).toBe(2);
    expect(args.model.fusion).toMatchObject({ type: 'film', conditionScale: 3 });
    expect(args.model.dModel).toBe(16);
    expect(args.finetune.curriculum).toEqual({ questionTypes: ['what color is the'], steps: 1 });
    expect(args.finetune.imagesPerBatch).toBe(2);
    expect(args.finetune.checkpointEvery).toBe(100); // from --quick
  }, 60_000);

  it('--steps 1 works (warmup and schedule scale with the steps)', async () => {
    const one = join(dir, 'one');
    const r = await cli('train', ...TINY_TRAIN, '--steps', '1', '--run-dir', one);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(JSON.parse(readFileSync(join(one, 'results.json'), 'utf8')).steps).toBe(1);
  }, 60_000);

  it('--images-per-batch above the folder’s images names the flag', async () => {
    const r = await cli('train', ...TINY_TRAIN, '--images-per-batch', '7', '--run-dir', join(dir, 'r7'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--images-per-batch 7 is more than the 6 training images/);
  }, 60_000);

  it('--curriculum with a type the folder does not have lists its types, before pretraining', async () => {
    const r = await cli('train', ...TINY_TRAIN, '--curriculum', 'horizontal:1', '--run-dir', join(dir, 'rc'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /--curriculum: 'horizontal' not a question type of .*; its types: is the, what color is the/,
    );
    expect(r.out).not.toMatch(/pretraining/);
  }, 60_000);

  it('--resume with another --curriculum or batch size is refused, naming both, before any work', async () => {
    const run = join(dir, 'resume-mismatch');
    const first = await cli(
      'train',
      ...TINY_TRAIN,
      '--steps',
      '2',
      '--curriculum',
      'is the:1',
      '--run-dir',
      run,
    );
    expect([first.code, first.err]).toEqual([0, '']);
    const r = await cli('train', ...TINY_TRAIN, '--steps', '4', '--resume', '--run-dir', run);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /--resume: --curriculum was \{"questionTypes":\["is the"\],"steps":1\} in .*resume-mismatch, now null\. A resumed run continues the same data stream/,
    );
    expect(r.out).not.toMatch(/pretraining|step 3/);
    const ok = await cli(
      'train',
      ...TINY_TRAIN,
      '--steps',
      '4',
      '--curriculum',
      'is the:1',
      '--resume',
      '--run-dir',
      run,
    );
    expect([ok.code, ok.err]).toEqual([0, '']);
    expect(ok.out).toMatch(/resumed from step 2/);
  }, 90_000);

  it('malformed dataset JSON: the file and the field are named', async () => {
    const copy = fixtureCopy();
    const file = join(copy, 'v2_mscoco_train2014_annotations.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.annotations[3].answers = 'red';
    writeFileSync(file, JSON.stringify(json));
    const r = await cli('train', ...TINY_TRAIN, '--data', copy, '--run-dir', join(dir, 'bad'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(file);
    expect(r.err).toMatch(/annotations\[3\].*answers/);
    writeFileSync(file, '{"annotations": [');
    const t = await cli('train', ...TINY_TRAIN, '--data', copy, '--run-dir', join(dir, 'bad'));
    expect(t.code).toBe(1);
    expect(t.err).toContain(file);
  });

  it('a missing or corrupt image in the folder is named', async () => {
    const copy = fixtureCopy();
    const image = join(copy, 'train2014', 'COCO_train2014_000000000003.jpg');
    writeFileSync(image, 'not a jpeg at all');
    const r = await cli('train', ...TINY_TRAIN, '--data', copy, '--run-dir', join(dir, 'bad'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(image);
    rmSync(image);
    const m = await cli('train', ...TINY_TRAIN, '--data', copy, '--run-dir', join(dir, 'bad'));
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/COCO_train2014_000000000003\.jpg.*not found/);
  });

  it('ask: top answers with probabilities that sum to at most 1, in order', async () => {
    const image = join(FIXTURE, 'val2014', 'COCO_val2014_000000000101.png');
    const r = await cli(
      'ask',
      '--bundle',
      bundle,
      '--image',
      image,
      '--question',
      'What color is the shape?',
    );
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').map((l) => /^\s*([\d.]+)%\s+(.+)$/.exec(l)!);
    expect(rows).toHaveLength(5);
    const scores = rows.map((m) => Number(m[1]));
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(scores.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100.5);
  });

  it('ask: a question of unknown words is answered, with a note', async () => {
    const image = join(FIXTURE, 'val2014', 'COCO_val2014_000000000101.png');
    const r = await cli('ask', '--bundle', bundle, '--image', image, '--question', 'zyzzyva quux?');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/note: no word of the question is in the vocabulary/);
    expect(r.out.split('\n').filter((l) => l.includes('%'))).toHaveLength(5);
  });

  it('ask: a missing image, an empty question, a corrupt image, a bundle folder that is not there', async () => {
    const image = join(FIXTURE, 'val2014', 'COCO_val2014_000000000101.png');
    const missing = await cli('ask', '--bundle', bundle, '--image', join(dir, 'no.png'), '--question', 'q?');
    expect([missing.code, missing.err]).toEqual([
      2,
      expect.stringMatching(/--image .*no\.png: no such file/),
    ]);
    const empty = await cli('ask', '--bundle', bundle, '--image', image, '--question', '   ');
    expect([empty.code, empty.err]).toEqual([2, expect.stringMatching(/--question must not be empty/)]);
    const corrupt = join(dir, 'corrupt.png');
    writeFileSync(corrupt, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    const c = await cli('ask', '--bundle', bundle, '--image', corrupt, '--question', 'q?');
    expect(c.code).toBe(1);
    expect(c.err).toContain(corrupt);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello');
    const t = await cli('ask', '--bundle', bundle, '--image', text, '--question', 'q?');
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/notes\.txt.*not a PNG, JPEG/);
    const b = await cli('ask', '--bundle', join(dir, 'nobundle'), '--image', image, '--question', 'q?');
    expect([b.code, b.err]).toEqual([2, expect.stringMatching(/--bundle .*nobundle: no such folder/)]);
  });
});
