import { ArgumentError } from '@polymodal/tensor';

/**
 * Answer normalisation of the official VQA evaluation script
 * (GT-Vision-Lab/VQA, `PythonEvaluationTools/vqaEvaluation/vqaEval.py`, Agrawal et al.), ported
 * rule by rule, quirks included, so that scores match the leaderboard's. The rules are the same at
 * both revisions Polymodal follows (a013f00, 2021, and 458a8b2, 2016); what changed between them is
 * which answers get normalised (see `vqaAccuracy`).
 *
 * Text is handled as Python 3's `str` methods handle it: `strip()` and `split()` use Python's
 * whitespace (which includes U+001C–U+001F and U+0085 but not U+FEFF, unlike JavaScript's `\s`
 * and `trim()`), and the script's `\d` matches any Unicode decimal digit (category Nd). Under
 * Python 2.7, the script's own runtime, `\d` matches only ASCII digits and U+180E is whitespace;
 * no other difference was found (`scripts/make-vqa-eval-fixtures.py --python2`).
 */

/** Contraction table of the official script (keys are matched after lower-casing, so the capitalised ones never fire, as there). */
const CONTRACTIONS: Readonly<Record<string, string>> = {
  aint: "ain't",
  arent: "aren't",
  cant: "can't",
  couldve: "could've",
  couldnt: "couldn't",
  "couldn'tve": "couldn't've",
  "couldnt've": "couldn't've",
  didnt: "didn't",
  doesnt: "doesn't",
  dont: "don't",
  hadnt: "hadn't",
  "hadnt've": "hadn't've",
  "hadn'tve": "hadn't've",
  hasnt: "hasn't",
  havent: "haven't",
  hed: "he'd",
  "hed've": "he'd've",
  "he'dve": "he'd've",
  hes: "he's",
  howd: "how'd",
  howll: "how'll",
  hows: "how's",
  "Id've": "I'd've",
  "I'dve": "I'd've",
  Im: "I'm",
  Ive: "I've",
  isnt: "isn't",
  itd: "it'd",
  "itd've": "it'd've",
  "it'dve": "it'd've",
  itll: "it'll",
  "let's": "let's",
  maam: "ma'am",
  mightnt: "mightn't",
  "mightnt've": "mightn't've",
  "mightn'tve": "mightn't've",
  mightve: "might've",
  mustnt: "mustn't",
  mustve: "must've",
  neednt: "needn't",
  notve: "not've",
  oclock: "o'clock",
  oughtnt: "oughtn't",
  "ow's'at": "'ow's'at",
  "'ows'at": "'ow's'at",
  "'ow'sat": "'ow's'at",
  shant: "shan't",
  "shed've": "she'd've",
  "she'dve": "she'd've",
  "she's": "she's",
  shouldve: "should've",
  shouldnt: "shouldn't",
  "shouldnt've": "shouldn't've",
  "shouldn'tve": "shouldn't've",
  "somebody'd": 'somebodyd',
  "somebodyd've": "somebody'd've",
  "somebody'dve": "somebody'd've",
  somebodyll: "somebody'll",
  somebodys: "somebody's",
  someoned: "someone'd",
  "someoned've": "someone'd've",
  "someone'dve": "someone'd've",
  someonell: "someone'll",
  someones: "someone's",
  somethingd: "something'd",
  "somethingd've": "something'd've",
  "something'dve": "something'd've",
  somethingll: "something'll",
  thats: "that's",
  thered: "there'd",
  "thered've": "there'd've",
  "there'dve": "there'd've",
  therere: "there're",
  theres: "there's",
  theyd: "they'd",
  "theyd've": "they'd've",
  "they'dve": "they'd've",
  theyll: "they'll",
  theyre: "they're",
  theyve: "they've",
  twas: "'twas",
  wasnt: "wasn't",
  "wed've": "we'd've",
  "we'dve": "we'd've",
  weve: "we've",
  werent: "weren't",
  whatll: "what'll",
  whatre: "what're",
  whats: "what's",
  whatve: "what've",
  whens: "when's",
  whered: "where'd",
  wheres: "where's",
  whereve: "where've",
  whod: "who'd",
  "whod've": "who'd've",
  "who'dve": "who'd've",
  wholl: "who'll",
  whos: "who's",
  whove: "who've",
  whyll: "why'll",
  whyre: "why're",
  whys: "why's",
  wont: "won't",
  wouldve: "would've",
  wouldnt: "wouldn't",
  "wouldnt've": "wouldn't've",
  "wouldn'tve": "wouldn't've",
  yall: "y'all",
  "yall'll": "y'all'll",
  "y'allll": "y'all'll",
  "yall'd've": "y'all'd've",
  "y'alld've": "y'all'd've",
  "y'all'dve": "y'all'd've",
  youd: "you'd",
  "youd've": "you'd've",
  "you'dve": "you'd've",
  youll: "you'll",
  youre: "you're",
  youve: "you've",
};

/** Number words the official script maps to digits (only zero to ten, and "none" → "0"). */
const MANUAL_MAP: Readonly<Record<string, string>> = {
  none: '0',
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
};

const ARTICLES = new Set(['a', 'an', 'the']);

/** Punctuation the official script removes or turns into a space (note: no `'`, `:` or `.`). */
const PUNCT = [
  ';',
  '/',
  '[',
  ']',
  '"',
  '{',
  '}',
  '(',
  ')',
  '=',
  '+',
  '\\',
  '_',
  '-',
  '>',
  '<',
  '@',
  '`',
  ',',
  '?',
  '!',
];

/** `(\d)(,)(\d)`: a comma between digits, e.g. "1,000" (Python 3's `\d` is any Unicode Nd digit). */
const COMMA_STRIP = /\p{Nd},\p{Nd}/u;

/** The official `(?!<=\d)(\.)(?!\d)` is a lookahead typo, so it removes every period not followed by a digit. */
const PERIOD_STRIP = /\.(?!\p{Nd})/gu;

/**
 * The official script passes `re.UNICODE` (= 32) as `re.sub`'s `count`, so at most 32 periods are
 * removed; kept for exactness.
 */
const PERIOD_STRIP_COUNT = 32;

function has(text: string, ch: string): boolean {
  return text.includes(ch);
}

/** The characters Python 3's `str.isspace()` accepts (what `str.split()` and `str.strip()` use). */
const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPLIT = new RegExp(`[${PY_SPACE}]+`);
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

/** Python 3's `str.strip()` with no argument (`'\x1cyes\x85'` → `'yes'`; `'\ufeffyes'` unchanged). */
function pythonStrip(text: string): string {
  return text.replace(PY_STRIP, '');
}

/**
 * The cleaning the official script gives an answer before anything else: `'\n'` and `'\t'`
 * become spaces, then surrounding whitespace is stripped (Python's `strip()`, whose whitespace
 * differs from `String.prototype.trim`'s). At revision a013f00 it applies to the prediction and
 * to every human answer; at 458a8b2 to the prediction only.
 *
 * ```ts
 * cleanVqaAnswer(' yes\n'); // 'yes'
 * cleanVqaAnswer('\x1cyes\ufeff'); // 'yes\ufeff'
 * ```
 */
export function cleanVqaAnswer(answer: string): string {
  return pythonStrip(answer.replace(/\n/g, ' ').replace(/\t/g, ' '));
}

/**
 * The official `processPunctuation`: each punctuation mark is deleted when it touches a space
 * somewhere in the text (`"p "` or `" p"`) or when the text has a digit-comma-digit anywhere
 * (so "1,000" → "1000"); otherwise it becomes a space ("yes/no" → "yes no"). Then periods not
 * followed by a digit are removed ("3.5" keeps its period, "dog." loses it).
 *
 * ```ts
 * processPunctuation('1,000');   // '1000'
 * processPunctuation('yes/no');  // 'yes no'
 * ```
 */
export function processPunctuation(text: string): string {
  let out = text;
  const digitComma = COMMA_STRIP.test(text);
  for (const p of PUNCT) {
    // The condition looks at the input text, not at `out`, exactly as the official script does.
    const remove = has(text, `${p} `) || has(text, ` ${p}`) || digitComma;
    out = out.split(p).join(remove ? '' : ' ');
  }
  let removed = 0;
  return out.replace(PERIOD_STRIP, (m) => (removed++ < PERIOD_STRIP_COUNT ? '' : m));
}

/**
 * The official `processDigitArticle`: lower-case, split on (Python) whitespace, number words →
 * digits ("two" → "2"), drop articles (a, an, the), expand known contractions ("dont" → "don't"),
 * and join with single spaces.
 *
 * ```ts
 * processDigitArticle('The Two dogs'); // '2 dogs'
 * ```
 */
export function processDigitArticle(text: string): string {
  const words: string[] = [];
  for (const raw of text.toLowerCase().split(PY_SPLIT)) {
    if (raw === '') continue;
    const word = MANUAL_MAP[raw] ?? raw;
    if (!ARTICLES.has(word)) words.push(word);
  }
  return words.map((w) => CONTRACTIONS[w] ?? w).join(' ');
}

/**
 * The full normalisation the official script applies to an answer: {@link cleanVqaAnswer}
 * (newlines and tabs → spaces, Python `strip()`), {@link processPunctuation}, then
 * {@link processDigitArticle}. At revision a013f00 `vqaAccuracy` applies it to the prediction and
 * the human answers only when the humans disagree; see there.
 *
 * ```ts
 * normalizeVqaAnswer('  Two dogs!\n'); // '2 dogs'
 * normalizeVqaAnswer('A Cat.');        // 'cat'
 * ```
 */
export function normalizeVqaAnswer(answer: string): string {
  if (typeof answer !== 'string')
    throw new ArgumentError(
      'normalizeVqaAnswer',
      `answer must be a string, got ${answer === null ? 'null' : typeof answer}`,
    );
  const known = normalized.get(answer);
  if (known !== undefined) return known;
  const out = processDigitArticle(processPunctuation(cleanVqaAnswer(answer)));
  if (normalized.size >= NORMALIZED_LIMIT) normalized.clear();
  normalized.set(answer, out);
  return out;
}

/**
 * Answers repeat (a VQA split has a few thousand distinct ones for hundreds of thousands of
 * questions) and normalising one is ~40 string passes: the 1,000,000 answers of the generated
 * 10,000-scene split take 4.9 s uncached, 43 ms through this memo. Cleared when full.
 */
const normalized = new Map<string, string>();
const NORMALIZED_LIMIT = 1 << 16;
