import { describe, expect, it } from 'vitest';
import {
  cleanVqaAnswer,
  normalizeVqaAnswer,
  processDigitArticle,
  processPunctuation,
} from './vqa-normalize.js';

// Expected strings are worked by hand from the rules of the official vqaEval.py.
describe('processPunctuation', () => {
  it('turns punctuation that touches no space into a space', () => {
    expect(processPunctuation('yes/no')).toBe('yes no');
    expect(processPunctuation('t-shirt')).toBe('t shirt');
  });
  it('deletes punctuation that touches a space somewhere in the text', () => {
    expect(processPunctuation('yes, it is')).toBe('yes it is');
    expect(processPunctuation('red !')).toBe('red ');
  });
  it('deletes all punctuation when the text has a digit-comma-digit', () => {
    expect(processPunctuation('1,000')).toBe('1000');
    expect(processPunctuation('1,000-2,000')).toBe('10002000');
  });
  it('removes periods not followed by a digit and keeps decimal points', () => {
    expect(processPunctuation('3.5')).toBe('3.5');
    expect(processPunctuation('dog.')).toBe('dog');
    expect(processPunctuation('mr. smith')).toBe('mr smith');
  });
  it('leaves apostrophes and colons alone (they are not in the official list)', () => {
    expect(processPunctuation("don't")).toBe("don't");
    expect(processPunctuation('10:30')).toBe('10:30');
  });
});

describe('processDigitArticle', () => {
  it('lower-cases, maps number words, drops articles, expands contractions', () => {
    expect(processDigitArticle('The Two dogs')).toBe('2 dogs');
    expect(processDigitArticle('an apple')).toBe('apple');
    expect(processDigitArticle('none')).toBe('0');
    expect(processDigitArticle('dont know')).toBe("don't know");
    expect(processDigitArticle('eleven')).toBe('eleven'); // only zero..ten are mapped
  });
  it('collapses whitespace', () => {
    expect(processDigitArticle('  a   big  dog ')).toBe('big dog');
  });
});

describe('normalizeVqaAnswer', () => {
  it('applies the full pipeline', () => {
    expect(normalizeVqaAnswer('  Two dogs!\n')).toBe('2 dogs');
    expect(normalizeVqaAnswer('A Cat.')).toBe('cat');
    expect(normalizeVqaAnswer('Yes\tit is')).toBe('yes it is');
    expect(normalizeVqaAnswer('1,000')).toBe('1000');
  });
  it('returns the same as the uncached pipeline for repeated answers and past the memo limit', () => {
    const pipeline = (a: string) => processDigitArticle(processPunctuation(cleanVqaAnswer(a)));
    const answers = Array.from({ length: 70_000 }, (_, i) => `The ${i % 11 === 0 ? 'Two' : i}, dog.`);
    const wrong: string[] = [];
    for (const step of [1, 7]) {
      for (let i = 0; i < answers.length; i += step) {
        if (normalizeVqaAnswer(answers[i]!) !== pipeline(answers[i]!)) wrong.push(answers[i]!);
      }
    }
    expect(wrong).toEqual([]);
    expect(normalizeVqaAnswer('The Two, dog.')).toBe('2 dog');
  });
});

describe('cleanVqaAnswer', () => {
  it("replaces \\n and \\t and strips Python's whitespace", () => {
    expect(cleanVqaAnswer(' yes\n')).toBe('yes');
    expect(cleanVqaAnswer('\x1c\x85yes\u3000')).toBe('yes'); // Python whitespace, not JS \s
    expect(cleanVqaAnswer('\ufeffyes')).toBe('\ufeffyes'); // JS trim() would strip U+FEFF
    expect(cleanVqaAnswer('a\tb')).toBe('a b');
  });
});
