import { ArgumentError } from '@polymodal/tensor';
import { BasicTokenizer, type BasicTokenizerOptions } from './basic-tokenizer.js';
import { assertText, describeValue } from './text-argument.js';

/** The five BERT special tokens. */
export interface SpecialTokens {
  cls: string;
  sep: string;
  pad: string;
  mask: string;
  unk: string;
}

export const BERT_SPECIAL_TOKENS: SpecialTokens = {
  cls: '[CLS]',
  sep: '[SEP]',
  pad: '[PAD]',
  mask: '[MASK]',
  unk: '[UNK]',
};

export interface WordPieceTokenizerOptions extends Omit<BasicTokenizerOptions, 'neverSplit'> {
  /** Words longer than this (in code points) become `[UNK]`. Default 100 (as HF). */
  maxInputCharsPerWord?: number;
  /** Prefix of word-continuation pieces. Default `##`. */
  continuingSubwordPrefix?: string;
  specialTokens?: Partial<SpecialTokens>;
}

/** One encoded sequence, as Hugging Face returns it (camelCase). */
export interface Encoding {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
  tokens: string[];
}

export interface EncodeOptions {
  /** Add `[CLS]`/`[SEP]`. Default true. */
  addSpecialTokens?: boolean;
  /** Truncate to `maxLength` (special tokens included), longest sequence first for pairs. */
  truncation?: boolean;
  maxLength?: number;
}

export interface BatchEncodeOptions extends EncodeOptions {
  /** `'longest'`: pad to the longest in the batch; `'max_length'`: pad to `maxLength`. */
  padding?: 'longest' | 'max_length' | false;
}

export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
}

/** Counts that a run of `encodeBatch` saw (over-long text, empty text). */
export interface EncodeStats {
  truncated: number;
  empty: number;
}

/**
 * BERT WordPiece tokenizer, id-for-id compatible with Hugging Face `BertTokenizer` /
 * `BertTokenizerFast` on the same `vocab.txt`: basic tokenization, then greedy longest-match-first
 * sub-words (`##` continuation) with words over `maxInputCharsPerWord` mapped to `[UNK]`.
 *
 * ```ts
 * const tok = WordPieceTokenizer.fromVocabText(fs.readFileSync('vocab.txt', 'utf8'));
 * tok.encode('Is the cube red?').inputIds;  // [cls, ..., sep]
 * const batch = tok.encodeBatch(['a', 'b c'], { padding: 'longest' });  // number[][] each [N, L]
 * ```
 * Reference: Wu et al. 2016, "Google's Neural Machine Translation System" (WordPiece); Devlin et al. 2019.
 */
export class WordPieceTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly idToToken: readonly string[];
  readonly specialTokens: SpecialTokens;
  readonly basic: BasicTokenizer;
  readonly maxInputCharsPerWord: number;
  readonly continuingSubwordPrefix: string;
  /** Running counts across calls; `resetStats()` clears them. */
  readonly stats: EncodeStats = { truncated: 0, empty: 0 };
  private readonly specialSet: ReadonlySet<string>;
  private readonly specialPattern: RegExp;

  constructor(
    vocab: ReadonlyMap<string, number> | readonly string[],
    options: WordPieceTokenizerOptions = {},
  ) {
    if (!Array.isArray(vocab) && !(vocab instanceof Map))
      throw new ArgumentError(
        'WordPieceTokenizer',
        `vocab must be an array of tokens or a Map of token → id, got ${describeValue(vocab)}`,
      );
    const map = new Map<string, number>();
    if (Array.isArray(vocab)) (vocab as readonly string[]).forEach((t, i) => void map.set(t, i));
    else for (const [t, i] of vocab as ReadonlyMap<string, number>) map.set(t, i);
    this.vocab = map;
    const ids: string[] = [];
    for (const [t, i] of map) ids[i] = t;
    this.idToToken = ids;
    this.specialTokens = { ...BERT_SPECIAL_TOKENS, ...options.specialTokens };
    for (const [role, token] of Object.entries(this.specialTokens)) {
      if (!map.has(token)) {
        throw new ArgumentError(
          'WordPieceTokenizer',
          `special token ${role}=${token} is not in the vocabulary`,
        );
      }
    }
    this.specialSet = new Set(Object.values(this.specialTokens));
    this.specialPattern = new RegExp(
      `(${[...this.specialSet].map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`,
    );
    this.basic = new BasicTokenizer({ ...options, neverSplit: [...this.specialSet] });
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
  }

  /** Loads a BERT `vocab.txt` (one token per line; the line number is the id). */
  static fromVocabText(text: string, options: WordPieceTokenizerOptions = {}): WordPieceTokenizer {
    assertText('WordPieceTokenizer.fromVocabText', 'text', text);
    const lines = text.split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return new WordPieceTokenizer(lines, options);
  }

  /**
   * Loads a Hugging Face `tokenizer.json` with a `WordPiece` model, a `BertNormalizer` and a
   * `BertPreTokenizer` (the layout `BertTokenizerFast.save_pretrained` writes).
   */
  static fromTokenizerJson(json: string | TokenizerJson): WordPieceTokenizer {
    let spec: TokenizerJson;
    try {
      spec = typeof json === 'string' ? (JSON.parse(json) as TokenizerJson) : json;
    } catch (e) {
      throw new ArgumentError(
        'WordPieceTokenizer.fromTokenizerJson',
        `not valid JSON (${(e as Error).message})`,
      );
    }
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
      throw new ArgumentError(
        'WordPieceTokenizer.fromTokenizerJson',
        `expected a JSON object, got ${describeValue(spec)}`,
      );
    const model = spec.model;
    if (model?.type !== 'WordPiece' || !model.vocab) {
      throw new ArgumentError(
        'WordPieceTokenizer.fromTokenizerJson',
        `model.type must be "WordPiece" with a vocab`,
      );
    }
    const norm = spec.normalizer;
    if (norm && norm.type !== 'BertNormalizer') {
      throw new ArgumentError(
        'WordPieceTokenizer.fromTokenizerJson',
        `normalizer.type ${norm.type} unsupported (expected BertNormalizer)`,
      );
    }
    if (spec.pre_tokenizer && spec.pre_tokenizer.type !== 'BertPreTokenizer') {
      throw new ArgumentError(
        'WordPieceTokenizer.fromTokenizerJson',
        `pre_tokenizer.type ${spec.pre_tokenizer.type} unsupported (expected BertPreTokenizer)`,
      );
    }
    const specials: Partial<SpecialTokens> = { unk: model.unk_token ?? '[UNK]' };
    const post = spec.post_processor;
    if (post?.type === 'BertProcessing' && post.cls && post.sep) {
      specials.cls = post.cls[0];
      specials.sep = post.sep[0];
    } else if (post?.type === 'TemplateProcessing' && post.single) {
      const names = post.single.flatMap((p) => (p.SpecialToken ? [p.SpecialToken.id] : []));
      if (names[0]) specials.cls = names[0];
      if (names[1]) specials.sep = names[1];
    }
    if (spec.padding?.pad_token) specials.pad = spec.padding.pad_token;
    return new WordPieceTokenizer(new Map(Object.entries(model.vocab)), {
      lowercase: norm?.lowercase ?? true,
      stripAccents: norm?.strip_accents ?? null,
      handleChineseChars: norm?.handle_chinese_chars ?? true,
      cleanText: norm?.clean_text ?? true,
      maxInputCharsPerWord: model.max_input_chars_per_word ?? 100,
      continuingSubwordPrefix: model.continuing_subword_prefix ?? '##',
      specialTokens: specials,
    });
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  /** Id of a special token role, e.g. `tok.specialId('pad')`. */
  specialId(role: keyof SpecialTokens): number {
    return this.vocab.get(this.specialTokens[role])!;
  }

  get padId(): number {
    return this.specialId('pad');
  }

  /** Greedy longest-match-first split of one basic token (HF `WordpieceTokenizer`). */
  wordPiece(word: string): string[] {
    assertText('WordPieceTokenizer.wordPiece', 'word', word);
    const chars = Array.from(word);
    if (chars.length > this.maxInputCharsPerWord) return [this.specialTokens.unk];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | null = null;
      while (start < end) {
        let sub = chars.slice(start, end).join('');
        if (start > 0) sub = this.continuingSubwordPrefix + sub;
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end -= 1;
      }
      if (found === null) return [this.specialTokens.unk];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** Text → word pieces, with special tokens written in the text kept whole (as HF added tokens). */
  tokenize(text: string): string[] {
    assertText('WordPieceTokenizer.tokenize', 'text', text);
    const out: string[] = [];
    for (const part of text.split(this.specialPattern)) {
      if (this.specialSet.has(part)) {
        out.push(part);
        continue;
      }
      for (const word of this.basic.tokenize(part)) {
        if (this.specialSet.has(word)) out.push(word);
        else out.push(...this.wordPiece(word));
      }
    }
    return out;
  }

  convertTokensToIds(tokens: readonly string[]): number[] {
    const unk = this.specialId('unk');
    return tokens.map((t) => this.vocab.get(t) ?? unk);
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    if (!Array.isArray(ids) && !ArrayBuffer.isView(ids))
      throw new ArgumentError(
        'WordPieceTokenizer.decode',
        `ids must be an array of token ids, got ${describeValue(ids)}`,
      );
    return Array.from(ids, (id) => {
      const t = Number.isInteger(id) && id >= 0 ? this.idToToken[id] : undefined;
      if (t === undefined)
        throw new ArgumentError('WordPieceTokenizer.decode', `id ${id} is outside the vocabulary`);
      return t;
    });
  }

  /**
   * Encodes one text or a pair: `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`, token type 0 for the
   * first segment and 1 for the second (HF `BertTokenizer.__call__`).
   */
  encode(text: string, pair?: string, options: EncodeOptions = {}): Encoding {
    assertText('WordPieceTokenizer.encode', 'text', text);
    if (pair !== undefined) assertText('WordPieceTokenizer.encode', 'pair', pair);
    const { maxLength } = options;
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 0))
      throw new ArgumentError(
        'WordPieceTokenizer.encode',
        `maxLength must be a non-negative integer, got ${maxLength}`,
      );
    const addSpecial = options.addSpecialTokens ?? true;
    if (text.trim() === '' && (pair === undefined || pair.trim() === '')) this.stats.empty += 1;
    let a = this.tokenize(text);
    let b = pair === undefined ? null : this.tokenize(pair);
    if (options.truncation && options.maxLength !== undefined) {
      const specials = addSpecial ? (b ? 3 : 2) : 0;
      const budget = options.maxLength - specials;
      if (budget < 0) {
        throw new ArgumentError(
          'WordPieceTokenizer.encode',
          `maxLength ${options.maxLength} leaves no room for special tokens`,
        );
      }
      const total = a.length + (b?.length ?? 0);
      if (total > budget) {
        this.stats.truncated += 1;
        // HF 'longest_first': drop one token at a time from the longer sequence (the pair on ties).
        let remove = total - budget;
        a = a.slice();
        b = b?.slice() ?? null;
        for (; remove > 0; remove--) {
          if (b === null || a.length > b.length) a.pop();
          else b.pop();
        }
      }
    }
    const { cls, sep } = this.specialTokens;
    const tokens = addSpecial ? [cls, ...a, sep] : [...a];
    const tokenTypeIds = tokens.map(() => 0);
    if (b) {
      const second = addSpecial ? [...b, sep] : b;
      tokens.push(...second);
      tokenTypeIds.push(...second.map(() => 1));
    }
    return {
      tokens,
      inputIds: this.convertTokensToIds(tokens),
      tokenTypeIds,
      attentionMask: tokens.map(() => 1),
    };
  }

  /**
   * Ids → text as HF `decode`: join pieces, glue `##` continuations, and (by default) HF's
   * `clean_up_tokenization` (`" ."` → `"."`, `" n't"` → `"n't"`, …).
   */
  decode(
    ids: readonly number[],
    options: { skipSpecialTokens?: boolean; cleanUpTokenizationSpaces?: boolean } = {},
  ): string {
    let tokens = this.convertIdsToTokens(ids);
    if (options.skipSpecialTokens) tokens = tokens.filter((t) => !this.specialSet.has(t));
    let text = tokens.join(' ').split(` ${this.continuingSubwordPrefix}`).join('').trim();
    if (options.cleanUpTokenizationSpaces ?? true) text = cleanUpTokenization(text);
    return text;
  }

  /**
   * Encodes many texts (or `[text, pair]` tuples) and pads them to one length.
   * Returns number[][] of shape [N, L]; `encodingToTensors` turns them into int32 tensors.
   */
  encodeBatch(
    texts: readonly (string | readonly [string, string])[],
    options: BatchEncodeOptions = {},
  ): BatchEncoding {
    const padding = options.padding ?? 'longest';
    if (padding === 'max_length' && options.maxLength === undefined) {
      throw new ArgumentError('WordPieceTokenizer.encodeBatch', `padding 'max_length' needs maxLength`);
    }
    if (!Array.isArray(texts))
      throw new ArgumentError(
        'WordPieceTokenizer.encodeBatch',
        `texts must be an array, got ${describeValue(texts)}`,
      );
    texts.forEach((t, i) => {
      const ok =
        typeof t === 'string' ||
        (Array.isArray(t) && t.length === 2 && typeof t[0] === 'string' && typeof t[1] === 'string');
      if (!ok)
        throw new ArgumentError(
          'WordPieceTokenizer.encodeBatch',
          `texts[${i}] must be a string or a [text, pair] of strings, got ${describeValue(t)}`,
        );
    });
    const encodings = texts.map((t) =>
      typeof t === 'string' ? this.encode(t, undefined, options) : this.encode(t[0], t[1], options),
    );
    const target =
      padding === 'max_length'
        ? Math.max(options.maxLength!, ...encodings.map((e) => e.inputIds.length))
        : padding === 'longest'
          ? Math.max(0, ...encodings.map((e) => e.inputIds.length))
          : 0;
    const padId = this.padId;
    const padTo = (xs: number[], value: number) =>
      xs.concat(new Array<number>(Math.max(0, target - xs.length)).fill(value));
    return {
      inputIds: encodings.map((e) => padTo(e.inputIds, padId)),
      attentionMask: encodings.map((e) => padTo(e.attentionMask, 0)),
      tokenTypeIds: encodings.map((e) => padTo(e.tokenTypeIds, 0)),
    };
  }

  resetStats(): void {
    this.stats.truncated = 0;
    this.stats.empty = 0;
  }

  /** The vocabulary as `vocab.txt` text (ids in line order). */
  toVocabText(): string {
    return `${this.idToToken.join('\n')}\n`;
  }
}

/** HF `PreTrainedTokenizerBase.clean_up_tokenization`. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** The subset of Hugging Face's `tokenizer.json` schema that a BERT WordPiece tokenizer uses. */
export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: { pad_token?: string; pad_id?: number } | null;
  added_tokens?: { id: number; content: string; special?: boolean }[];
  normalizer?: {
    type: string;
    clean_text?: boolean;
    handle_chinese_chars?: boolean;
    strip_accents?: boolean | null;
    lowercase?: boolean;
  } | null;
  pre_tokenizer?: { type: string } | null;
  post_processor?: {
    type: string;
    cls?: [string, number];
    sep?: [string, number];
    single?: { SpecialToken?: { id: string; type_id: number }; Sequence?: { id: string; type_id: number } }[];
  } | null;
  decoder?: { type: string; prefix?: string; cleanup?: boolean } | null;
  model: {
    type: string;
    unk_token?: string;
    continuing_subword_prefix?: string;
    max_input_chars_per_word?: number;
    vocab: Record<string, number>;
  };
}
