import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AnswerVocab } from './answer-vocab.js';
import { readClevr } from './clevr.js';
import { readCocoCaptions } from './coco-captions.js';
import { DatasetError } from './dataset-error.js';
import { readJsonl } from './jsonl.js';
import { readKarpathy } from './karpathy.js';
import { SkipReport } from './skip-report.js';
import { readVqaV2 } from './vqa-v2.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const vqaRoot = join(fixtures, 'vqa');

/** A writable copy of the VQA fixture with the annotations JSON edited by `edit`. */
function vqaCopy(edit?: (ann: { annotations: Record<string, unknown>[] }) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'pm-vqa-'));
  cpSync(vqaRoot, dir, { recursive: true });
  if (edit) {
    const file = join(dir, 'v2_mscoco_val2014_annotations.json');
    const ann = JSON.parse(readFileSync(file, 'utf8'));
    edit(ann);
    writeFileSync(file, JSON.stringify(ann));
  }
  return dir;
}

describe('readVqaV2', () => {
  it('joins questions, annotations and COCO image files', async () => {
    const { samples, report } = await readVqaV2({ root: vqaRoot, split: 'val2014' });
    expect(samples.map((s) => s.questionId)).toEqual([42000, 42001, 73000, 74000]);
    const s = samples[0]!;
    expect(s.question).toBe('What color is the bus?');
    expect(s.answers).toHaveLength(10);
    expect(s.multipleChoiceAnswer).toBe('red');
    expect(s.questionType).toBe('what color is the');
    expect(s.answerType).toBe('other');
    expect(basename(s.imagePath)).toBe('COCO_val2014_000000000042.jpg');
    // Image 74 only exists as .png: the second extension is tried.
    expect(basename(samples[3]!.imagePath)).toBe('COCO_val2014_000000000074.png');
    expect(report.summary()).toBe('skipped 0 of 4');
  });

  it('reads a split without annotations', async () => {
    const { samples } = await readVqaV2({ root: vqaRoot, split: 'val2014', annotationsFile: null });
    expect(samples[2]!.answers).toEqual([]);
  });

  it('names the file, index and field when an annotation is missing a field', async () => {
    const dir = vqaCopy((a) => {
      delete a.annotations[2]!.answers;
    });
    await expect(readVqaV2({ root: dir, split: 'val2014' })).rejects.toThrow(
      /v2_mscoco_val2014_annotations\.json: annotations\[2\] is missing 'answers'/,
    );
    rmSync(dir, { recursive: true });
  });

  it('throws or skips (counted) for a missing image and an empty question', async () => {
    const dir = vqaCopy();
    rmSync(join(dir, 'val2014', 'COCO_val2014_000000000073.jpg'));
    const qFile = join(dir, 'v2_OpenEnded_mscoco_val2014_questions.json');
    const q = JSON.parse(readFileSync(qFile, 'utf8'));
    q.questions[1].question = '  ';
    writeFileSync(qFile, JSON.stringify(q));
    await expect(readVqaV2({ root: dir, split: 'val2014' })).rejects.toThrow(DatasetError);
    await expect(readVqaV2({ root: dir, split: 'val2014' })).rejects.toThrow(/empty question text/);
    const { samples, report } = await readVqaV2({ root: dir, split: 'val2014', onError: 'skip' });
    expect(samples.map((s) => s.questionId)).toEqual([42000, 74000]);
    expect(report.summary()).toBe(
      'skipped 2 of 4: question 42001: empty question text; COCO_val2014_000000000073.jpg: image not found in ' +
        `${join(dir, 'val2014')}; 1 empty texts`,
    );
    rmSync(dir, { recursive: true });
  });

  it('refuses a question without annotation', async () => {
    const dir = vqaCopy((a) => {
      a.annotations.pop();
    });
    await expect(readVqaV2({ root: dir, split: 'val2014' })).rejects.toThrow(
      /question_id 74000\) has no annotation/,
    );
    rmSync(dir, { recursive: true });
  });
});

describe('AnswerVocab', () => {
  it('checks the two files against each other: orphan annotations, image_id disagreements, repeated ids', async () => {
    // An annotation whose question_id no question has: before, silently ignored.
    const orphan = vqaCopy((a) => {
      a.annotations.push({ ...a.annotations[0]!, question_id: 99999 });
    });
    await expect(readVqaV2({ root: orphan, split: 'val2014' })).rejects.toThrow(DatasetError);
    await expect(readVqaV2({ root: orphan, split: 'val2014' })).rejects.toThrow(
      /v2_mscoco_val2014_annotations\.json: annotation question_id 99999 matches no question in .*v2_OpenEnded_mscoco_val2014_questions\.json/,
    );
    const skipped = await readVqaV2({ root: orphan, split: 'val2014', onError: 'skip' });
    expect(skipped.samples).toHaveLength(4);
    expect(skipped.report.skipped).toEqual([
      {
        item: 'annotation 99999',
        reason: expect.stringMatching(/^matches no question in .*questions\.json$/),
      },
    ]);

    // The annotation of question 73000 says image 42: before, the sample got image 73 with image
    // 42's answers. Both ids and both files are named.
    const mismatch = vqaCopy((a) => {
      a.annotations[2]!.image_id = 42;
    });
    await expect(readVqaV2({ root: mismatch, split: 'val2014' })).rejects.toThrow(
      /questions\[2\] \(question_id 73000\): question 73000: image_id 73 in .*questions\.json but 42 in its annotation in v2_mscoco_val2014_annotations\.json/,
    );
    const lenient = await readVqaV2({ root: mismatch, split: 'val2014', onError: 'skip' });
    expect(lenient.samples.map((x) => x.questionId)).toEqual([42000, 42001, 74000]);
    expect(lenient.report.summary()).toMatch(
      /^skipped 1 of 4: question 73000: image_id 73 in .* but 42 in its annotation/,
    );

    const twice = vqaCopy((a) => {
      a.annotations.push({ ...a.annotations[1]! });
    });
    await expect(readVqaV2({ root: twice, split: 'val2014' })).rejects.toThrow(
      /annotations\[4\] repeats question_id 42001/,
    );
    for (const d of [orphan, mismatch, twice]) rmSync(d, { recursive: true });
  });

  it('keeps the top-K answers and gives min(1, count/3) soft scores', async () => {
    const { samples } = await readVqaV2({ root: vqaRoot, split: 'val2014' });
    // All 40 answers: red ×7 (Red normalises to red), no ×9, 2 ×8, tree ×8, orange 2, others 1.
    const vocab = AnswerVocab.build(
      samples.flatMap((s) => s.answers),
      { topK: 5 },
    );
    // Ties (2 and tree at 8) break alphabetically; index 0 is [UNK].
    expect(vocab.answers).toEqual(['[UNK]', 'no', '2', 'tree', 'red', 'orange']);
    // Question 42000: red 7 → 1, orange 2 → 2/3, "red and white" unknown → dropped and counted.
    const { indices, scores } = vocab.softScores(samples[0]!.answers);
    expect(indices).toEqual([4, 5]);
    expect(scores[0]).toBe(1);
    expect(scores[1]).toBeCloseTo(2 / 3, 10);
    expect(vocab.unknownCount).toBe(1);
    expect(vocab.index('Tree.')).toBe(3);
    expect(vocab.index('giraffe')).toBe(0);
    expect(vocab.unknownCount).toBe(2);
    expect(Array.from(vocab.softTarget(['no', 'no', 'yes']))).toEqual(
      [0, 2 / 3, 0, 0, 0, 0].map(Math.fround),
    );
    const strict = AnswerVocab.build(['a'], { includeUnk: false });
    expect(() => strict.index('b')).toThrow(/unknown answer "b"/);
  });
});

describe('other readers', () => {
  it('COCO captions: grouped per image, empty captions counted', async () => {
    const report = new SkipReport();
    const { samples } = await readCocoCaptions({
      annotationsFile: join(fixtures, 'coco/annotations/captions_val2014.json'),
      imageDir: join(fixtures, 'coco/val2014'),
      report,
    });
    expect(samples.map((s) => s.imageId)).toEqual([42, 73]);
    expect(samples[0]!.captions).toEqual(['A red bus parked on a street.', 'A bus in front of a building.']);
    expect(samples[0]!.captionIds).toEqual([1, 3]);
    expect(samples[1]!.captions).toEqual(['Two people standing near a tree.']);
    expect(report.empty).toBe(1);
    await expect(
      readCocoCaptions({
        annotationsFile: join(fixtures, 'coco/annotations/captions_val2014.json'),
        imageDir: fixtures,
      }),
    ).rejects.toThrow(/image 42 file .* does not exist/);
  });

  it('CLEVR: image_filename under the image folder; missing images throw or are skipped', async () => {
    const opts = {
      questionsFile: join(fixtures, 'clevr/CLEVR_val_questions.json'),
      imageDir: join(fixtures, 'clevr/images/val'),
    };
    await expect(readClevr(opts)).rejects.toThrow(/questions\[2\]: .*CLEVR_val_000002\.png: image not found/);
    const { samples, report } = await readClevr({ ...opts, onError: 'skip' });
    expect(samples.map((s) => [s.imageIndex, s.answer, s.questionFamilyIndex])).toEqual([
      [0, 'no', 39],
      [1, '3', 89],
    ]);
    expect(report.summary()).toMatch(/^skipped 1 of 3: .*CLEVR_val_000002\.png: image not found$/);
  });

  it('Karpathy: several sentences per image, splits, restval → train', async () => {
    const file = join(fixtures, 'karpathy/dataset_coco.json');
    const all = await readKarpathy({ file, imageRoot: '/coco' });
    expect(all.map((s) => s.split)).toEqual(['test', 'train', 'train', 'val']);
    const test = await readKarpathy({ file, imageRoot: '/coco', splits: ['test'] });
    expect(test).toHaveLength(1);
    expect(test[0]!.sentences).toHaveLength(2);
    expect(test[0]!.tokens[0]).toEqual(['a', 'red', 'bus', 'parked', 'on', 'a', 'street']);
    expect(test[0]!.imagePath).toBe('/coco/val2014/COCO_val2014_000000000042.jpg');
    const raw = await readKarpathy({ file, imageRoot: '/coco', restvalAsTrain: false, splits: ['restval'] });
    expect(raw.map((s) => s.cocoId)).toEqual([73]);
  });

  it('confines every image path to its folder: ../ and absolute names are refused, named, or skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-escape-'));
    const images = join(dir, 'images');
    cpSync(join(fixtures, 'coco/val2014'), images, { recursive: true });
    // A file that does exist outside the image folder: the reader must not hand out its path.
    writeFileSync(join(dir, 'outside.png'), 'secret');
    const coco = join(dir, 'captions.json');
    writeFileSync(
      coco,
      JSON.stringify({
        images: [
          { id: 42, file_name: 'COCO_val2014_000000000042.jpg' },
          { id: 7, file_name: '../outside.png' },
          { id: 8, file_name: '/etc/passwd' },
          { id: 9, file_name: 'sub/../COCO_val2014_000000000073.jpg' },
        ],
        annotations: [7, 8, 9, 42].map((image_id, id) => ({ id, image_id, caption: `caption ${id}` })),
      }),
    );
    await expect(readCocoCaptions({ annotationsFile: coco, imageDir: images })).rejects.toThrow(
      /captions\.json: images\[1\] \(id 7\) file_name "\.\.\/outside\.png": path leaves .*images/,
    );
    const { samples, report } = await readCocoCaptions({
      annotationsFile: coco,
      imageDir: images,
      onError: 'skip',
    });
    expect(samples.map((x) => x.imageId)).toEqual([42, 9]);
    expect(samples.every((x) => x.imagePath.startsWith(images))).toBe(true);
    expect(report.skipped.map((x) => `${x.item}: ${x.reason}`)).toEqual([
      `../outside.png: path leaves ${images}`,
      '/etc/passwd: absolute path (must be relative to its folder)',
    ]);

    const clevr = join(dir, 'clevr.json');
    writeFileSync(
      clevr,
      JSON.stringify({
        questions: [
          { image_index: 0, image_filename: '../outside.png', question: 'Is it?', answer: 'no' },
          { image_index: 1, image_filename: 'C:\\Windows\\x.png', question: 'Is it?', answer: 'no' },
        ],
      }),
    );
    await expect(readClevr({ questionsFile: clevr, imageDir: images })).rejects.toThrow(
      /questions\[0\]: \.\.\/outside\.png: image_filename "\.\.\/outside\.png": path leaves/,
    );
    const lenient = await readClevr({ questionsFile: clevr, imageDir: images, onError: 'skip' });
    expect(lenient.samples).toEqual([]);
    expect(lenient.report.skipped.map((x) => x.reason)).toEqual([
      expect.stringMatching(/path leaves/),
      expect.stringMatching(/absolute path/),
    ]);

    const karpathy = join(dir, 'karpathy.json');
    const entry = { imgid: 1, split: 'test', sentences: [{ raw: 'x', tokens: ['x'] }] };
    writeFileSync(karpathy, JSON.stringify({ images: [{ ...entry, filepath: '../..', filename: 'x.jpg' }] }));
    await expect(readKarpathy({ file: karpathy, imageRoot: images })).rejects.toThrow(
      /images\[0\] image "\.\.\/\.\.\/x\.jpg": path leaves/,
    );
    writeFileSync(karpathy, JSON.stringify({ images: [{ ...entry, filepath: '/abs', filename: 'x.jpg' }] }));
    await expect(readKarpathy({ file: karpathy, imageRoot: images })).rejects.toThrow(/absolute path/);
    rmSync(dir, { recursive: true });
  });

  it('JSONL: malformed lines throw with the line number or are skipped and counted', async () => {
    const file = join(fixtures, 'vqa/pairs.jsonl');
    await expect(readJsonl(file)).rejects.toThrow(/pairs\.jsonl: line 4: invalid JSON/);
    const { records, report } = await readJsonl<{ image: string; text: string }>(file, {
      onError: 'skip',
      required: ['image', 'text'],
    });
    expect(records.map((r) => r.text)).toEqual(['a red bus', 'two people']);
    expect(report.summary()).toMatch(/^skipped 2 of 4: line 4: invalid JSON .*; line 5: missing 'image'$/);
    await expect(readJsonl(join(fixtures, 'nope.jsonl'))).rejects.toThrow(
      /nope\.jsonl: cannot read \(ENOENT\)/,
    );
  });

  it('formats large counts with thousands separators', () => {
    const r = new SkipReport();
    r.total = 10_000;
    r.skip('a.jpg', 'corrupt');
    r.truncated = 1234;
    expect(r.summary()).toBe('skipped 1 of 10,000: a.jpg: corrupt; truncated 1,234 over-long texts');
  });
});
