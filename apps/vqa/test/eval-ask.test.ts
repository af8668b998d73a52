import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImageFile } from '@polymodal/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVqaBundle, readImage } from '../src/bundle.js';
import { encodeQuestion } from '../src/bundle-core.js';
import type { BundleEvaluation } from '../src/evaluation/evaluate-bundle.js';
import { attentionMap } from '../src/model/attention-map.js';
import { cli, FIXTURE, TINY_TRAIN, tempDir } from './helpers.js';

const dir = tempDir();
const film = join(dir, 'film', 'bundle');
const twoStream = join(dir, 'intermediate', 'bundle');
const image = join(FIXTURE, 'val2014', 'COCO_val2014_000000000101.png'); // 48×32
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  for (const [runDir, fusion] of [
    [join(dir, 'film'), 'film'],
    [join(dir, 'intermediate'), 'intermediate'],
  ] as const) {
    const r = await cli('train', ...TINY_TRAIN, '--fusion', fusion, '--run-dir', runDir);
    if (r.code !== 0) throw new Error(r.err);
  }
}, 180_000);

/** The official VQA accuracy of one answer, written out here: mean over the 10 leave-one-out sets. */
function official(prediction: string, answers: string[]): number {
  let sum = 0;
  for (let i = 0; i < answers.length; i++) {
    const others = answers.filter((_, j) => j !== i);
    sum += Math.min(1, others.filter((a) => a === prediction).length / 3);
  }
  return sum / answers.length;
}

describe('vqa eval', () => {
  it('scores the bundle on the data it trained on, with the blind baseline, as JSON and markdown', async () => {
    const r = await cli('eval', '--bundle', film);
    expect(r.code).toBe(0);
    const e = JSON.parse(readFileSync(join(dir, 'film', 'eval.json'), 'utf8')) as BundleEvaluation;
    const annotations = JSON.parse(readFileSync(join(FIXTURE, 'v2_mscoco_val2014_annotations.json'), 'utf8'))
      .annotations as { question_id: number; answers: { answer: string }[] }[];
    expect(e.questions).toBe(annotations.length);
    let total = 0;
    for (const q of e.perQuestion) {
      const truth = annotations.find((a) => a.question_id === q.questionId)!.answers.map((a) => a.answer);
      expect(q.accuracy).toBeCloseTo(official(q.prediction, truth), 12);
      total += q.accuracy;
    }
    expect(e.report.overall).toBeCloseTo(total / e.questions, 12);
    // The fixture's training answers tie within each type, so the blind baseline answers 'blue'
    // and 'no' (first alphabetically): right for one of the three validation pictures each.
    expect(e.report.blindBaseline).toBeCloseTo(1 / 3, 12);
    expect(e.report.blindPerAnswerType).toEqual({ other: 1 / 3, 'yes/no': 1 / 3 });
    expect(Object.keys(e.report.perAnswerType).sort()).toEqual(['other', 'yes/no']);
    expect(Object.keys(e.report.perQuestionType).sort()).toEqual(['is the', 'what color is the']);
    const wrong = e.perQuestion.filter((q) => q.accuracy < 1).length;
    expect(e.report.confusions.reduce((n, c) => n + c.count, 0)).toBe(wrong);
    const md = readFileSync(join(dir, 'film', 'eval.md'), 'utf8');
    expect(md).toContain(`**Overall: ${(100 * e.report.overall).toFixed(1)} %** (blind baseline 33.3 %)`);
    expect(md).toContain('| yes/no |');
  });

  it('--data with a split that is not there is a usage error', async () => {
    const r = await cli('eval', '--bundle', film, '--data', FIXTURE, '--val-split', 'test2015', '--out', dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/has no test2015 split/);
  });
});

describe('vqa ask --attention-map', () => {
  it('saves the map over the picture at its own size for a two-stream fusion', async () => {
    const out = join(dir, 'map.png');
    const r = await cli(
      'ask',
      '--bundle',
      twoStream,
      '--image',
      image,
      '--question',
      'What color is the shape?',
      '--attention-map',
      out,
    );
    expect(r.code).toBe(0);
    const png = await decodeImageFile(out);
    expect([png.width, png.height]).toEqual([48, 32]);
  });

  it('the map is a distribution over the grid and reading it leaves the answers unchanged', async () => {
    const bundle = await loadVqaBundle(twoStream);
    const picture = await readImage(image);
    const question = 'Is the shape a circle?';
    const before = bundle.predict({ image: picture, question }, 7);
    const { ids } = encodeQuestion(bundle.tokenizer, question, bundle.config.maxTextLength);
    const map = attentionMap(bundle.model, bundle.processor, picture, ids)!;
    expect(map.weights.length).toBe(map.grid[0] * map.grid[1]);
    expect(map.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(Math.min(...map.weights)).toBeGreaterThanOrEqual(0);
    expect(bundle.predict({ image: picture, question }, 7)).toEqual(before);
  });

  it('a fusion without text → image attention is refused with exit 2', async () => {
    const r = await cli(
      'ask',
      '--bundle',
      film,
      '--image',
      image,
      '--question',
      'q?',
      '--attention-map',
      join(dir, 'x.png'),
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /--attention-map needs a fusion with text → image attention \(intermediate\); this bundle's fusion is 'film'/,
    );
  });
});
