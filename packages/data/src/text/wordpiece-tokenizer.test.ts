import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodingToTensors } from './encoding-to-tensors.js';
import { cleanUpTokenization, WordPieceTokenizer } from './wordpiece-tokenizer.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/text/${name}`, import.meta.url));
const vocabText = readFileSync(fixture('vocab.txt'), 'utf8');
const fromVocab = WordPieceTokenizer.fromVocabText(vocabText);
const fromJson = WordPieceTokenizer.fromTokenizerJson(readFileSync(fixture('tokenizer.json'), 'utf8'));

/*
 * Expected ids are derived by hand from Hugging Face's BertTokenizer algorithm and the fixture
 * vocabulary (line number = id): 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK] 5 ! 7 $ 8 ' 9 ( 10 )
 * 12 - 14 ? 15 : 16 the 19 is 20 what 21 color 23 cube 24 red 25 blue 34 cafe 35 naive 36 un
 * 37 ##aff 38 ##able 39 ##ord 40 play 41 ##ing 43 don 44 t 51 green 59 big 60 ##ger 61 ##gest
 * 68 hello 70 你 71 好 73 ##l 74 ##e 79 x 80 ##x 81 y 83 z 84 1 86 3 87 ##2 88 ##3 89 10.
 */
const cases: [string, string, number[]][] = [
  // Lower-cased, '?' is punctuation and splits off.
  ['plain question', 'What color is the cube?', [2, 20, 21, 19, 16, 23, 14, 3]],
  // NFD + drop Mn marks: é → e, ï → i, so café → cafe (34), naïve → naive (35).
  ['accents stripped', 'Is the Café naïve?', [2, 19, 16, 34, 35, 14, 3]],
  // Greedy longest-match-first: un | ##aff | ##ord | ##able (no longer prefix is in the vocab);
  // playing → play ##ing; '!' splits off.
  ['sub-words', 'Unaffordable playing!', [2, 36, 37, 39, 38, 40, 41, 5, 3]],
  // zebra → z (83) then ##e (74) then nothing matches "##bra"/"##b": the WHOLE word is [UNK].
  ['unknown after partial match', 'The zebra is big', [2, 16, 1, 19, 59, 3]],
  ['two suffixes', 'bigger biggest', [2, 59, 60, 59, 61, 3]],
  // Every ASCII non-alphanumeric is punctuation for HF (incl. $ and '), each its own token.
  ['punctuation', "don't (x-y): $3", [2, 43, 8, 44, 9, 79, 12, 81, 10, 15, 7, 86, 3]],
  // CJK ideographs get spaces around them, so 你好hello → 你 好 hello.
  ['CJK spacing', '你好hello', [2, 70, 71, 68, 3]],
  // Clean text: tab/newline → space, NUL and U+200B (category Cf) removed.
  ['control characters', 're\u200bd\tblue\u0000\ngreen', [2, 24, 25, 51, 3]],
  // hello is whole in the vocab (longest match), then "##l".
  ['longest match first', 'hellol', [2, 68, 73, 3]],
  // "10" is a vocab word; 123 → 1 ##2 ##3 since neither "123", "12" nor "##23" is.
  ['digits', '10 123', [2, 89, 84, 87, 88, 3]],
  // Special tokens written in the text are kept whole (HF added-token split), not lower-cased.
  ['special token in text', 'the [MASK] is red', [2, 16, 4, 19, 24, 3]],
  ['empty text', '', [2, 3]],
];

describe('WordPieceTokenizer (vocab.txt)', () => {
  for (const [name, text, ids] of cases) {
    it(`encodes: ${name}`, () => {
      expect(fromVocab.encode(text).inputIds).toEqual(ids);
    });
    it(`tokenizer.json gives the same ids: ${name}`, () => {
      expect(fromJson.encode(text).inputIds).toEqual(ids);
    });
  }

  it('maps words longer than maxInputCharsPerWord to [UNK]', () => {
    // HF checks len(chars) > max_input_chars_per_word before any matching.
    const x100 = 'x'.repeat(100);
    expect(fromVocab.encode(x100).inputIds).toEqual([2, 79, ...new Array(99).fill(80), 3]);
    expect(fromVocab.encode(`${x100}x`).inputIds).toEqual([2, 1, 3]);
    const short = WordPieceTokenizer.fromVocabText(vocabText, { maxInputCharsPerWord: 5 });
    expect(short.encode('sphere cube').inputIds).toEqual([2, 1, 23, 3]);
  });

  it('respects lowercase=false and stripAccents=false', () => {
    const cased = WordPieceTokenizer.fromVocabText(vocabText, { lowercase: false });
    // "Hello": no vocab entry starts with "H" → [UNK]; "hello" → 68.
    expect(cased.encode('Hello hello').inputIds).toEqual([2, 1, 68, 3]);
    const keepAccents = WordPieceTokenizer.fromVocabText(vocabText, { stripAccents: false });
    // café stays café: no "c…" prefix in the vocab → [UNK]; still lower-cased (Cube → cube).
    expect(keepAccents.encode('Café Cube').inputIds).toEqual([2, 1, 23, 3]);
  });

  it('encodes pairs with token type ids', () => {
    const e = fromVocab.encode('what color', 'red cube');
    expect(e.inputIds).toEqual([2, 20, 21, 3, 24, 23, 3]);
    expect(e.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(e.tokens).toEqual(['[CLS]', 'what', 'color', '[SEP]', 'red', 'cube', '[SEP]']);
  });

  it('truncates to maxLength, longest sequence first, counting a warning', () => {
    const tok = WordPieceTokenizer.fromVocabText(vocabText);
    // Budget 5 − 2 specials = 3 tokens: what color is.
    expect(
      tok.encode('What color is the cube?', undefined, { truncation: true, maxLength: 5 }).inputIds,
    ).toEqual([2, 20, 21, 19, 3]);
    // Pair: 3 + 2 tokens, budget 6 − 3 = 3. Remove 2: A is longer (3 > 2) → A loses "is";
    // then 2 == 2, ties go to the pair → B loses "cube".
    const p = tok.encode('what color is', 'red cube', { truncation: true, maxLength: 6 });
    expect(p.inputIds).toEqual([2, 20, 21, 3, 24, 3]);
    expect(p.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1]);
    expect(tok.stats.truncated).toBe(2);
    tok.encode('red', undefined, { truncation: true, maxLength: 5 });
    expect(tok.stats.truncated).toBe(2);
    expect(() => tok.encode('red', 'blue', { truncation: true, maxLength: 2 })).toThrow(/maxLength 2/);
  });

  it('decodes with and without special tokens, cleaning spaces like HF', () => {
    const ids = fromVocab.encode("Unaffordable playing! don't stop?").inputIds;
    // "stop" is not in the vocab → [UNK].
    expect(fromVocab.decode(ids)).toBe("[CLS] unaffordable playing! don't [UNK]? [SEP]");
    expect(fromVocab.decode(ids, { skipSpecialTokens: true })).toBe("unaffordable playing! don't?");
    expect(fromVocab.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false })).toBe(
      "unaffordable playing ! don ' t ?",
    );
    expect(cleanUpTokenization("it 's red , is n't it ?")).toBe("it's red, isn't it?");
    expect(() => fromVocab.decode([9999])).toThrow(/9999/);
  });
});

describe('encodeBatch', () => {
  it('pads to the longest row with [PAD] and zero masks', () => {
    const b = fromVocab.encodeBatch(['red cube', 'blue', ['red', 'cube']], { padding: 'longest' });
    expect(b.inputIds).toEqual([
      [2, 24, 23, 3, 0],
      [2, 25, 3, 0, 0],
      [2, 24, 3, 23, 3],
    ]);
    expect(b.attentionMask).toEqual([
      [1, 1, 1, 1, 0],
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    expect(b.tokenTypeIds[2]).toEqual([0, 0, 0, 1, 1]);
    const t = encodingToTensors(b);
    expect(t.inputIds.shape).toEqual([3, 5]);
    expect(t.inputIds.dtype).toBe('int32');
    expect(Array.from(t.attentionMask.dataSync())).toEqual(b.attentionMask.flat());
  });

  it('pads to max_length and truncates longer rows', () => {
    const b = fromVocab.encodeBatch(['what color is the cube', 'red'], {
      padding: 'max_length',
      maxLength: 4,
      truncation: true,
    });
    expect(b.inputIds).toEqual([
      [2, 20, 21, 3],
      [2, 24, 3, 0],
    ]);
    expect(() => fromVocab.encodeBatch(['a'], { padding: 'max_length' })).toThrow(/maxLength/);
  });

  it('rejects a vocabulary without the special tokens', () => {
    expect(() => WordPieceTokenizer.fromVocabText('a\nb\n')).toThrow(
      /\[CLS\]|\[SEP\]|\[PAD\]|\[MASK\]|\[UNK\]/,
    );
  });
});

describe('fromTokenizerJson', () => {
  const base = JSON.parse(readFileSync(fixture('tokenizer.json'), 'utf8'));

  it('reads BertProcessing post-processors and normalizer options', () => {
    const spec = {
      ...base,
      normalizer: { ...base.normalizer, lowercase: false },
      post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
    };
    const tok = WordPieceTokenizer.fromTokenizerJson(spec);
    expect(tok.basic.lowercase).toBe(false);
    // Not lower-cased: "Red" has no vocab match → [UNK]; "red" → 24.
    expect(tok.encode('Red red').inputIds).toEqual([2, 1, 24, 3]);
  });

  it('rejects other model, normalizer and pre-tokenizer types', () => {
    expect(() =>
      WordPieceTokenizer.fromTokenizerJson({ ...base, model: { ...base.model, type: 'BPE' } }),
    ).toThrow(/model\.type must be "WordPiece"/);
    expect(() => WordPieceTokenizer.fromTokenizerJson({ ...base, normalizer: { type: 'NFKC' } })).toThrow(
      /NFKC unsupported/,
    );
    expect(() =>
      WordPieceTokenizer.fromTokenizerJson({ ...base, pre_tokenizer: { type: 'Whitespace' } }),
    ).toThrow(/Whitespace unsupported/);
  });

  it('round-trips the vocabulary through toVocabText', () => {
    expect(fromJson.toVocabText()).toBe(vocabText);
    expect(fromJson.vocabSize).toBe(96);
  });
});
