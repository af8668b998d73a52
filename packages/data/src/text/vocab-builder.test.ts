import { describe, expect, it } from 'vitest';
import { buildWordVocab, trainWordPiece } from './vocab-builder.js';
import { WordPieceTokenizer } from './wordpiece-tokenizer.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

describe('buildWordVocab', () => {
  const corpus = ['A red cube.', 'a blue cube', 'a red sphere'];
  it('orders by frequency (ties alphabetical) and filters by minFrequency / topK', () => {
    // counts: a 3, cube 2, red 2, . 1, blue 1, sphere 1
    expect(buildWordVocab(corpus)).toEqual([...SPECIALS, 'a', 'cube', 'red', '.', 'blue', 'sphere']);
    expect(buildWordVocab(corpus, { minFrequency: 2 })).toEqual([...SPECIALS, 'a', 'cube', 'red']);
    expect(buildWordVocab(corpus, { topK: 2 })).toEqual([...SPECIALS, 'a', 'cube']);
  });
});

describe('trainWordPiece', () => {
  it('merges by score freq(ab)/(freq(a)·freq(b)), not by raw frequency', () => {
    // Words: ab ×2, ac ×1, cd ×1. Alphabet: a c | ##b ##c ##d.
    // Piece counts: a 3, ##b 2, ##c 1, c 1, ##d 1. Scores: (a,##b) 2/6, (a,##c) 1/3, (c,##d) 1/1.
    // → "cd" first even though (a,##b) is the most frequent pair. Then (a,##b) and (a,##c) tie at
    // 1/3 and the first seen (from "ab") wins → "ab".
    const corpus = ['ab ab ac cd'];
    const alphabet = ['a', 'c', '##b', '##c', '##d'];
    expect(trainWordPiece(corpus, { vocabSize: 10 })).toEqual([...SPECIALS, ...alphabet]);
    expect(trainWordPiece(corpus, { vocabSize: 11 })).toEqual([...SPECIALS, ...alphabet, 'cd']);
    expect(trainWordPiece(corpus, { vocabSize: 12 })).toEqual([...SPECIALS, ...alphabet, 'cd', 'ab']);
  });

  it('produces a vocabulary the tokenizer can use', () => {
    const corpus = ['the red cube is left of the blue cube', 'the cubes are red'];
    const vocab = trainWordPiece(corpus, { vocabSize: 40 });
    expect(vocab.length).toBe(40);
    const tok = new WordPieceTokenizer(vocab);
    const ids = tok.encode('the red cubes').inputIds;
    expect(ids).not.toContain(tok.specialId('unk'));
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('the red cubes');
  });

  it('refuses a vocabSize below the special tokens', () => {
    expect(() => trainWordPiece(['a'], { vocabSize: 3 })).toThrow(/vocabSize/);
  });
});
