import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../../test/load-fixture.js';
import { VQA_EVAL_COMMITS, vqaAccuracy } from './vqa-accuracy.js';
import { processDigitArticle, processPunctuation } from './vqa-normalize.js';

// Golden values: the official evaluator itself (GT-Vision-Lab/VQA vqaEval.py at a013f00 and
// 458a8b2, run as published under Python 3 by scripts/make-vqa-eval-fixtures.py): every
// contraction, number word, article and punctuation context of the script, the cases of issue 17,
// and 1,000 random questions built to hit every branch (agreeing and disagreeing annotators,
// Python vs JavaScript whitespace, digit-comma-digit, more than 32 periods, non-ASCII letters).
interface Fixture {
  revisions: Record<'2021' | '2016', { commit: string }>;
  strings: { input: string; processPunctuation: string; processDigitArticle: string }[];
  cases: { prediction: string; answers: string[]; accuracy2021: number; accuracy2016: number }[];
  python2Differs?: Record<'2021' | '2016', number[]>;
}

const fixture = loadFixture<Fixture>('vqa-eval.json');
// A larger set written by `make-vqa-eval-fixtures.py --cases N --out FILE`, for one-off runs.
const big = process.env.VQA_EVAL_FIXTURE
  ? (JSON.parse(readFileSync(process.env.VQA_EVAL_FIXTURE, 'utf8')) as Fixture)
  : null;

describe('VQA accuracy against the official vqaEval.py', () => {
  it('the fixture comes from the commits the code names', () => {
    expect(fixture.revisions['2021'].commit).toBe(VQA_EVAL_COMMITS['2021']);
    expect(fixture.revisions['2016'].commit).toBe(VQA_EVAL_COMMITS['2016']);
    expect(fixture.cases.length).toBeGreaterThan(1000);
  });

  it('processPunctuation and processDigitArticle agree on every string', () => {
    const wrong = fixture.strings.filter(
      (s) =>
        processPunctuation(s.input) !== s.processPunctuation ||
        processDigitArticle(s.input) !== s.processDigitArticle,
    );
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(fixture.strings.length).toBeGreaterThan(1000);
  });

  for (const revision of ['2021', '2016'] as const) {
    it(`vqaAccuracy equals the script's per-question accuracy (revision ${revision})`, () => {
      const key = revision === '2021' ? 'accuracy2021' : 'accuracy2016';
      const wrong = fixture.cases
        .map((c, i) => ({ i, ...c, got: vqaAccuracy(c.prediction, c.answers, { revision }) }))
        .filter((c) => Math.abs(c.got - c[key]) > 1e-12);
      expect(wrong.slice(0, 5)).toEqual([]);
    });
  }

  it('the two revisions really differ on this set (so each test can fail)', () => {
    const differ = fixture.cases.filter((c) => c.accuracy2021 !== c.accuracy2016).length;
    expect(differ).toBeGreaterThan(100);
  });

  it.runIf(big)('agrees on the large set in VQA_EVAL_FIXTURE', () => {
    for (const revision of ['2021', '2016'] as const) {
      const key = revision === '2021' ? 'accuracy2021' : 'accuracy2016';
      const wrong = big!.cases.filter(
        (c) => Math.abs(vqaAccuracy(c.prediction, c.answers, { revision }) - c[key]) > 1e-12,
      );
      expect(wrong.slice(0, 5), `${wrong.length} of ${big!.cases.length} differ`).toEqual([]);
    }
  });
});
