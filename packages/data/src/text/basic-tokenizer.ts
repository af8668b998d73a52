import { assertText } from './text-argument.js';

/**
 * Options of the BERT basic tokenizer, named as in Hugging Face's `BertNormalizer` /
 * `BasicTokenizer` (camelCase).
 */
export interface BasicTokenizerOptions {
  /** Lower-case the text (and, unless `stripAccents === false`, strip accents). Default true. */
  lowercase?: boolean;
  /** `null`/`undefined`: follow `lowercase`; `true`/`false`: force. */
  stripAccents?: boolean | null;
  /** Put spaces around CJK ideographs so each becomes its own token. Default true. */
  handleChineseChars?: boolean;
  /** Drop control characters and turn all whitespace into spaces. Default true. */
  cleanText?: boolean;
  /** Tokens that are never lower-cased or split (special tokens). */
  neverSplit?: readonly string[];
}

const PUNCTUATION = /^\p{P}$/u;
const MARK_NONSPACING = /^\p{Mn}$/u;
const CONTROL = /^\p{C}$/u;
const SPACE_SEPARATOR = /^\p{Zs}$/u;

/** Python's `str.split()` whitespace split (drops empty pieces). */
export function whitespaceSplit(text: string): string[] {
  return text.split(/\s+/u).filter((t) => t.length > 0);
}

/** HF `_is_whitespace`: space, tab, newline, carriage return or a Unicode space separator (Zs). */
export function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || SPACE_SEPARATOR.test(ch);
}

/** HF `_is_control`: any category-C character except tab, newline and carriage return. */
export function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return CONTROL.test(ch);
}

/** HF `_is_punctuation`: all non-alphanumeric ASCII (e.g. `$`, `^`, `` ` ``) plus Unicode category P. */
export function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  if (
    (cp >= 33 && cp <= 47) ||
    (cp >= 58 && cp <= 64) ||
    (cp >= 91 && cp <= 96) ||
    (cp >= 123 && cp <= 126)
  ) {
    return true;
  }
  return PUNCTUATION.test(ch);
}

/** HF `_is_chinese_char`: the CJK Unified Ideographs blocks (not Hiragana, Katakana or Hangul). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** NFD-decomposes and drops combining marks (category Mn): `"Café" → "Cafe"`. */
export function stripAccents(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFD')) if (!MARK_NONSPACING.test(ch)) out += ch;
  return out;
}

/**
 * BERT's basic tokenizer, a port of Hugging Face `BasicTokenizer.tokenize`: clean text, space out
 * CJK ideographs, NFC, split on whitespace, lower-case + strip accents, split off every punctuation
 * character, split on whitespace again.
 *
 * ```ts
 * new BasicTokenizer().tokenize("Héllo, world!"); // ['hello', ',', 'world', '!']
 * ```
 * Reference: Devlin et al. 2019, "BERT" (tokenization.py).
 */
export class BasicTokenizer {
  readonly lowercase: boolean;
  readonly stripAccents: boolean | null;
  readonly handleChineseChars: boolean;
  readonly cleanText: boolean;
  readonly neverSplit: ReadonlySet<string>;

  constructor(options: BasicTokenizerOptions = {}) {
    this.lowercase = options.lowercase ?? true;
    this.stripAccents = options.stripAccents ?? null;
    this.handleChineseChars = options.handleChineseChars ?? true;
    this.cleanText = options.cleanText ?? true;
    this.neverSplit = new Set(options.neverSplit ?? []);
  }

  /** Splits `text` into basic tokens (words and single punctuation characters). */
  tokenize(text: string): string[] {
    assertText('BasicTokenizer.tokenize', 'text', text);
    if (this.cleanText) text = cleanText(text);
    if (this.handleChineseChars) text = spaceChineseChars(text);
    text = text.normalize('NFC');
    const out: string[] = [];
    for (let token of whitespaceSplit(text)) {
      if (this.neverSplit.has(token)) {
        out.push(token);
        continue;
      }
      if (this.lowercase) {
        token = token.toLowerCase();
        if (this.stripAccents !== false) token = stripAccents(token);
      } else if (this.stripAccents) {
        token = stripAccents(token);
      }
      out.push(...splitOnPunctuation(token));
    }
    return whitespaceSplit(out.join(' '));
  }
}

function cleanText(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    out += isWhitespace(ch) ? ' ' : ch;
  }
  return out;
}

function spaceChineseChars(text: string): string {
  let out = '';
  for (const ch of text) out += isChineseChar(ch.codePointAt(0) ?? 0) ? ` ${ch} ` : ch;
  return out;
}

function splitOnPunctuation(token: string): string[] {
  const pieces: string[] = [];
  let current = '';
  for (const ch of token) {
    if (isPunctuation(ch)) {
      if (current) pieces.push(current);
      pieces.push(ch);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current) pieces.push(current);
  return pieces;
}
