import { ArgumentError } from '@polymodal/tensor';
import { BasicTokenizer, type BasicTokenizerOptions } from './basic-tokenizer.js';
import { assertText } from './text-argument.js';
import { BERT_SPECIAL_TOKENS } from './wordpiece-tokenizer.js';

const DEFAULT_SPECIALS = [
  BERT_SPECIAL_TOKENS.pad,
  BERT_SPECIAL_TOKENS.unk,
  BERT_SPECIAL_TOKENS.cls,
  BERT_SPECIAL_TOKENS.sep,
  BERT_SPECIAL_TOKENS.mask,
];

export interface WordVocabOptions extends BasicTokenizerOptions {
  /** Keep words seen at least this often. Default 1. */
  minFrequency?: number;
  /** Keep at most this many words (specials not counted). */
  topK?: number;
  /** Tokens placed first, in order. Default `[PAD] [UNK] [CLS] [SEP] [MASK]`. */
  specialTokens?: readonly string[];
}

/** Counts basic tokens over a corpus (BERT basic tokenization). */
export function countWords(
  corpus: Iterable<string>,
  options: BasicTokenizerOptions = {},
): Map<string, number> {
  const basic = new BasicTokenizer(options);
  const counts = new Map<string, number>();
  let i = 0;
  for (const text of corpus) {
    assertText('countWords', `corpus[${i++}]`, text);
    for (const w of basic.tokenize(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

/**
 * Word-level vocabulary: special tokens, then words by descending frequency (ties alphabetical),
 * filtered by `minFrequency` and cut to `topK`.
 *
 * ```ts
 * buildWordVocab(['a red cube', 'a cube'], { minFrequency: 2 }); // ['[PAD]', …, 'a', 'cube']
 * ```
 */
export function buildWordVocab(corpus: Iterable<string>, options: WordVocabOptions = {}): string[] {
  const minFrequency = options.minFrequency ?? 1;
  const specials = options.specialTokens ?? DEFAULT_SPECIALS;
  const words = [...countWords(corpus, options)]
    .filter(([w, c]) => c >= minFrequency && !specials.includes(w))
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .map(([w]) => w);
  return [...specials, ...words.slice(0, options.topK ?? words.length)];
}

export interface WordPieceTrainerOptions extends BasicTokenizerOptions {
  /** Stop when the vocabulary (specials included) reaches this size. */
  vocabSize: number;
  specialTokens?: readonly string[];
  continuingSubwordPrefix?: string;
}

/**
 * Trains a WordPiece vocabulary the Hugging Face way (as in the HF course's WordPiece chapter):
 * split each word into characters (non-initial ones prefixed `##`), start the vocabulary from that
 * alphabet, then repeatedly merge the adjacent pair with the best score
 * `freq(ab) / (freq(a) · freq(b))` until `vocabSize` is reached. Ties go to the pair seen first.
 *
 * ```ts
 * const vocab = trainWordPiece(corpus, { vocabSize: 200 });
 * const tok = new WordPieceTokenizer(vocab);
 * ```
 * Reference: Schuster & Nakajima 2012, "Japanese and Korean Voice Search" (WordPiece).
 */
export function trainWordPiece(corpus: Iterable<string>, options: WordPieceTrainerOptions): string[] {
  const prefix = options.continuingSubwordPrefix ?? '##';
  const specials = options.specialTokens ?? DEFAULT_SPECIALS;
  if (options.vocabSize < specials.length) {
    throw new ArgumentError(
      'trainWordPiece',
      `vocabSize ${options.vocabSize} < ${specials.length} special tokens`,
    );
  }
  const wordFreqs = countWords(corpus, options);
  const splits = new Map<string, string[]>();
  const vocab: string[] = [...specials];
  const seen = new Set(vocab);
  const addToken = (t: string) => {
    if (!seen.has(t)) {
      seen.add(t);
      vocab.push(t);
    }
  };
  // Alphabet: word-initial characters first, then continuation characters, each sorted.
  const initials = new Set<string>();
  const continuations = new Set<string>();
  for (const word of wordFreqs.keys()) {
    const chars = Array.from(word);
    const split = chars.map((c, i) => (i === 0 ? c : prefix + c));
    splits.set(word, split);
    split.forEach((c, i) => void (i === 0 ? initials : continuations).add(c));
  }
  [...initials].sort().forEach(addToken);
  [...continuations].sort().forEach(addToken);

  while (vocab.length < options.vocabSize) {
    const pieceFreq = new Map<string, number>();
    const pairFreq = new Map<string, { a: string; b: string; n: number }>();
    for (const [word, freq] of wordFreqs) {
      const split = splits.get(word)!;
      split.forEach((p, i) => {
        pieceFreq.set(p, (pieceFreq.get(p) ?? 0) + freq);
        const next = split[i + 1];
        if (next !== undefined) {
          const key = `${p}\u0000${next}`;
          const entry = pairFreq.get(key);
          if (entry) entry.n += freq;
          else pairFreq.set(key, { a: p, b: next, n: freq });
        }
      });
    }
    let best: { a: string; b: string } | null = null;
    let bestScore = -1;
    for (const { a, b, n } of pairFreq.values()) {
      const score = n / (pieceFreq.get(a)! * pieceFreq.get(b)!);
      if (score > bestScore) {
        bestScore = score;
        best = { a, b };
      }
    }
    if (!best) break;
    const merged = best.a + (best.b.startsWith(prefix) ? best.b.slice(prefix.length) : best.b);
    for (const [word, split] of splits) {
      const out: string[] = [];
      for (let i = 0; i < split.length; i++) {
        if (split[i] === best.a && split[i + 1] === best.b) {
          out.push(merged);
          i++;
        } else {
          out.push(split[i]!);
        }
      }
      splits.set(word, out);
    }
    addToken(merged);
  }
  return vocab;
}
