import { ArgumentError } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { evaluateVqa, vqaAccuracy } from './vqa-accuracy.js';

/** 10 annotator answers where `answer` appears `k` times and a filler answer fills the rest. */
function annotators(answer: string, k: number, filler = 'blue'): string[] {
  return [...Array(k).fill(answer), ...Array(10 - k).fill(filler)];
}

describe('vqaAccuracy', () => {
  // Hand-worked: k of 10 annotators agree. Leaving out one of the k leaves k−1 matches, leaving out
  // one of the other 10−k leaves k:  acc = (k·min(1,(k−1)/3) + (10−k)·min(1,k/3)) / 10.
  it.each([
    [0, 0],
    [1, 0.3], // (1·0 + 9·1/3)/10
    [2, 0.6], // (2·1/3 + 8·2/3)/10
    [3, 0.9], // (3·2/3 + 7·1)/10
    [4, 1], // (4·1 + 6·1)/10
    [7, 1],
    [10, 1],
  ])('an answer given by %i of 10 annotators scores %f', (k, expected) => {
    expect(vqaAccuracy('red', annotators('red', k))).toBeCloseTo(expected, 12);
  });

  it('normalises the prediction (case, articles, number words, punctuation)', () => {
    expect(vqaAccuracy('The Red.', annotators('red', 2))).toBeCloseTo(0.6, 12);
    expect(vqaAccuracy('Three', annotators('3', 3))).toBeCloseTo(0.9, 12);
    expect(vqaAccuracy('1,000', annotators('1000', 4))).toBe(1);
    // The JSDoc example.
    const answers = ['2', '2', '2', '3', '3', '3', '3', '3', '3', '3'];
    expect(vqaAccuracy('Two', answers)).toBeCloseTo(0.9, 12);
    expect(vqaAccuracy('three', answers)).toBe(1);
  });

  it('punctuation-normalises human answers only when they disagree (official behaviour)', () => {
    // Human 'yes/no' → 'yes no' because answers differ; prediction 'yes no' then matches 3 → 0.9.
    expect(vqaAccuracy('yes no', annotators('yes/no', 3))).toBeCloseTo(0.9, 12);
    // All 10 identical: left as-is, so the normalised prediction 'yes no' never equals 'yes/no'.
    expect(vqaAccuracy('yes no', annotators('yes/no', 10))).toBe(0);
  });

  // Issue 17's cases; the values are what the official script at a013f00 (and at 458a8b2, for
  // `revision: '2016'`) returns on them (fixtures/vqa-eval.json, cases 0–9).
  it('follows the 2021 script (a013f00): all-agree answers are compared verbatim', () => {
    expect(vqaAccuracy('two', Array(10).fill('two'))).toBe(1);
    expect(vqaAccuracy('Two', Array(10).fill('two'))).toBe(0);
    expect(vqaAccuracy('two', Array(10).fill('two'), { revision: '2016' })).toBe(0);
  });

  it('follows the 2021 script: when humans disagree, they get digit/article processing too', () => {
    const answers = [...Array(4).fill('two'), ...Array(3).fill('2'), ...Array(3).fill('3')];
    expect(vqaAccuracy('2', answers)).toBe(1);
    expect(vqaAccuracy('2', answers, { revision: '2016' })).toBeCloseTo(0.9, 12);
  });

  it('follows the 2021 script: human answers are stripped of surrounding whitespace', () => {
    const answers = [...Array(4).fill(' yes'), ...Array(6).fill('no')];
    expect(vqaAccuracy('yes', answers)).toBe(1);
    expect(vqaAccuracy('yes', answers, { revision: '2016' })).toBe(0);
  });

  it("uses Python's whitespace, not JavaScript's", () => {
    const blue = Array(6).fill('blue');
    // U+001C is whitespace to Python's split(); U+FEFF is not (JavaScript's \s has it the other way).
    expect(vqaAccuracy('red car', [...Array(4).fill('red\x1ccar'), ...blue])).toBe(1);
    expect(vqaAccuracy('red car', [...Array(4).fill('red\ufeffcar'), ...blue])).toBe(0);
    expect(vqaAccuracy('red\ufeffcar', [...Array(4).fill('red\ufeffcar'), ...blue])).toBe(1);
    expect(vqaAccuracy('yes\x1c', Array(10).fill('yes'))).toBe(1);
    expect(vqaAccuracy('\ufeffyes', Array(10).fill('yes'))).toBe(0);
  });

  it('rejects an unknown revision', () => {
    expect(() => vqaAccuracy('a', ['a'], { revision: '2019' as '2021' })).toThrow(/revision/);
  });

  it('works for other annotator counts', () => {
    // 3 annotators, 2 say 'cat': leave out a 'cat' → 1 match (1/3), twice; leave out 'dog' → 2/3.
    expect(vqaAccuracy('cat', ['cat', 'cat', 'dog'])).toBeCloseTo((1 / 3 + 1 / 3 + 2 / 3) / 3, 12);
  });

  it('rejects bad input with typed errors', () => {
    expect(() => vqaAccuracy('a', [])).toThrow(ArgumentError);
    expect(() => vqaAccuracy('a', [3 as unknown as string])).toThrow(/answers\[0\]/);
  });
});

describe('evaluateVqa', () => {
  it('averages overall, per question type and per answer type', () => {
    const result = evaluateVqa(
      ['yes', '2', 'blue'],
      [
        { answers: annotators('yes', 10, 'no'), questionType: 'is the', answerType: 'yes/no' },
        { answers: annotators('2', 2, '3'), questionType: 'how many', answerType: 'number' },
        { answers: annotators('red', 9), questionType: 'what color', answerType: 'other' }, // 'blue' ×1 → 0.3
      ],
    );
    expect(result.perQuestion.map((v) => Number(v.toFixed(12)))).toEqual([1, 0.6, 0.3]);
    expect(result.overall).toBeCloseTo(1.9 / 3, 12);
    expect(result.perAnswerType).toEqual({
      'yes/no': 1,
      number: expect.closeTo(0.6, 12),
      other: expect.closeTo(0.3, 12),
    });
    expect(Object.keys(result.perQuestionType)).toEqual(['is the', 'how many', 'what color']);
  });

  it('rejects mismatched and empty inputs', () => {
    expect(() => evaluateVqa(['a'], [])).toThrow(ArgumentError);
    expect(() => evaluateVqa([], [])).toThrow(/no questions/);
  });
});
