/**
 * Issue 16 item 12 and the reliability catalogue: every public text entry point refuses a value
 * that is not text with an ArgumentError naming the function and the argument (before: a
 * `TypeError … reading 'trim'` from deep inside, or a silent 0 for a bad id).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArgumentError } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { AnswerVocab, normalizeAnswer } from '../datasets/answer-vocab.js';
import { BasicTokenizer } from './basic-tokenizer.js';
import { encodingToTensors } from './encoding-to-tensors.js';
import { buildWordVocab, trainWordPiece } from './vocab-builder.js';
import { WordPieceTokenizer } from './wordpiece-tokenizer.js';

const vocab = readFileSync(fileURLToPath(new URL('../../fixtures/text/vocab.txt', import.meta.url)), 'utf8');
const tok = WordPieceTokenizer.fromVocabText(vocab);
const bad = (f: () => unknown, message: RegExp) => {
  expect(f).toThrow(ArgumentError);
  expect(f).toThrow(message);
};
const any = <T>(v: unknown) => v as T;

describe('text entry points refuse what is not text', () => {
  it('WordPieceTokenizer.encode(undefined) and friends name the function and argument', () => {
    bad(
      () => tok.encode(any(undefined)),
      /^WordPieceTokenizer\.encode: text must be a string, got undefined$/,
    );
    bad(() => tok.encode(any(null)), /text must be a string, got null/);
    bad(() => tok.encode(any(42)), /text must be a string, got a number \(42\)/);
    bad(() => tok.encode('a', any(['b'])), /pair must be a string, got an array/);
    bad(
      () => tok.encode('a', undefined, { truncation: true, maxLength: -1 }),
      /maxLength must be a non-negative integer, got -1/,
    );
    bad(
      () => tok.encode('a', undefined, { truncation: true, maxLength: 2.5 }),
      /maxLength must be a non-negative integer/,
    );
    bad(() => tok.tokenize(any({})), /WordPieceTokenizer\.tokenize: text must be a string, got an object/);
    bad(() => tok.wordPiece(any(undefined)), /WordPieceTokenizer\.wordPiece: word must be a string/);
    bad(
      () => new BasicTokenizer().tokenize(any(undefined)),
      /BasicTokenizer\.tokenize: text must be a string/,
    );
    // A string is fine, empty included.
    expect(tok.encode('').inputIds).toHaveLength(2);
  });

  it('encodeBatch names the bad element; decode refuses ids that are not token ids', () => {
    bad(() => tok.encodeBatch(any('one string')), /encodeBatch: texts must be an array, got a string/);
    bad(
      () => tok.encodeBatch(any(['a', undefined])),
      /texts\[1\] must be a string or a \[text, pair\] of strings, got undefined/,
    );
    bad(() => tok.encodeBatch(any(['a', ['b']])), /texts\[1\] must be a string or a \[text, pair\]/);
    bad(() => tok.decode([2, 1.5]), /id 1\.5 is outside the vocabulary/);
    bad(() => tok.decode([-1]), /id -1 is outside the vocabulary/);
    bad(() => tok.decode([Number.NaN]), /id NaN is outside the vocabulary/);
    bad(() => tok.decode(any('2 3')), /ids must be an array of token ids, got a string/);
    expect(tok.decode(new Int32Array([2, 3]) as unknown as number[])).toBe('[CLS] [SEP]');
  });

  it('vocabulary files and builders: not text, not JSON, a bad corpus element', () => {
    bad(
      () => WordPieceTokenizer.fromVocabText(any(undefined)),
      /fromVocabText: text must be a string, got undefined/,
    );
    bad(() => WordPieceTokenizer.fromTokenizerJson('{"model": '), /fromTokenizerJson: not valid JSON/);
    bad(() => WordPieceTokenizer.fromTokenizerJson('[1]'), /expected a JSON object, got an array/);
    bad(
      () => buildWordVocab(any(['red cube', 7])),
      /countWords: corpus\[1\] must be a string, got a number \(7\)/,
    );
    bad(
      () => trainWordPiece(any([undefined]), { vocabSize: 50 }),
      /corpus\[0\] must be a string, got undefined/,
    );
    bad(() => AnswerVocab.build(any(['yes', null])), /normalizeAnswer: answer must be a string, got null/);
    const answers = AnswerVocab.build(['yes', 'no']);
    bad(() => answers.softTarget(any([3])), /answer must be a string, got a number \(3\)/);
    bad(() => normalizeAnswer(any(undefined)), /answer must be a string/);
  });

  it('encodingToTensors refuses ids that an Int32Array would silently change', () => {
    const ok = { inputIds: [[2, 3]], attentionMask: [[1, 1]], tokenTypeIds: [[0, 0]] };
    expect(encodingToTensors(ok).inputIds.shape).toEqual([1, 2]);
    bad(
      () => encodingToTensors({ ...ok, inputIds: [[2, 3.5]] }),
      /inputIds\[0\]\[1\] is 3\.5, not an int32 id/,
    );
    bad(
      () => encodingToTensors({ ...ok, inputIds: [[2, Number.NaN]] }),
      /inputIds\[0\]\[1\] is NaN, not an int32 id/,
    );
    bad(
      () => encodingToTensors({ ...ok, attentionMask: [[1, any('1')]] }),
      /attentionMask\[0\]\[1\] is "1"; a mask holds 1 \(real token\) or 0/,
    );
    bad(() => encodingToTensors({ ...ok, inputIds: [[2, 2 ** 31]] }), /is 2147483648, not an int32 id/);
    bad(
      () => encodingToTensors({ ...ok, attentionMask: [[1, 2]] }),
      /attentionMask\[0\]\[1\] is 2; a mask holds/,
    );
    expect(encodingToTensors(ok).attentionMask.dtype).toBe('bool');
  });
});
