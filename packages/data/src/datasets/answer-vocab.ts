import { ArgumentError, checkPositiveInt } from '@polymodal/tensor';
import { assertText } from '../text/text-argument.js';

/**
 * Light answer normalisation (a subset of the official VQA evaluation's): lower-case, trim,
 * collapse spaces, drop a trailing period.
 */
export function normalizeAnswer(answer: string): string {
  assertText('normalizeAnswer', 'answer', answer);
  return answer.toLowerCase().trim().replace(/\s+/g, ' ').replace(/\.$/, '');
}

export interface AnswerVocabOptions {
  /** Keep the K most frequent answers (ties alphabetical). */
  topK?: number;
  /** Drop answers seen fewer times. Default 1. */
  minCount?: number;
  /** Reserve index 0 for `[UNK]` so unknown answers map there (counted). Default true. */
  includeUnk?: boolean;
}

/**
 * The answer classes of a VQA model: top-K answers by frequency, and the soft targets of Teney et
 * al. 2018 ("Tips and Tricks for Visual Question Answering"): score(a) = min(1, count(a)/3) over
 * the 10 human answers.
 *
 * ```ts
 * const vocab = AnswerVocab.build(samples.map((s) => s.multipleChoiceAnswer), { topK: 3000 });
 * const { indices, scores } = vocab.softScores(sample.answers); // sparse target
 * ```
 */
export class AnswerVocab {
  readonly answers: readonly string[];
  readonly unkIndex: number | null;
  /** Answers seen by `index`/`softScores` that are not in the vocabulary. */
  unknownCount = 0;
  private readonly lookup: Map<string, number>;

  constructor(answers: readonly string[], includeUnk = true) {
    this.answers = includeUnk ? ['[UNK]', ...answers] : [...answers];
    this.unkIndex = includeUnk ? 0 : null;
    this.lookup = new Map(this.answers.map((a, i) => [a, i]));
  }

  /** Counts (normalised) answers and keeps the most frequent. */
  static build(answers: Iterable<string>, options: AnswerVocabOptions = {}): AnswerVocab {
    for (const key of ['topK', 'minCount'] as const) {
      const v = options[key];
      if (v !== undefined) checkPositiveInt('AnswerVocab.build', key, v);
    }
    const counts = new Map<string, number>();
    for (const a of answers) {
      const n = normalizeAnswer(a);
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    const kept = [...counts]
      .filter(([a, c]) => c >= (options.minCount ?? 1) && a !== '')
      .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
      .slice(0, options.topK ?? Number.POSITIVE_INFINITY)
      .map(([a]) => a);
    return new AnswerVocab(kept, options.includeUnk ?? true);
  }

  get size(): number {
    return this.answers.length;
  }

  /** Class index of an answer; unknown → `[UNK]` (counted), or an error without `[UNK]`. */
  index(answer: string): number {
    const i = this.lookup.get(normalizeAnswer(answer));
    if (i !== undefined) return i;
    this.unknownCount += 1;
    if (this.unkIndex === null)
      throw new ArgumentError('AnswerVocab.index', `unknown answer "${answer}" and no [UNK] class`);
    return this.unkIndex;
  }

  /** Sparse soft target: each known answer's min(1, count/3); unknown answers are counted and dropped. */
  softScores(answers: readonly string[]): { indices: number[]; scores: number[] } {
    const counts = new Map<number, number>();
    for (const a of answers) {
      const i = this.lookup.get(normalizeAnswer(a));
      if (i === undefined) {
        this.unknownCount += 1;
        continue;
      }
      counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const indices = [...counts.keys()].sort((a, b) => a - b);
    return { indices, scores: indices.map((i) => Math.min(1, counts.get(i)! / 3)) };
  }

  /** Dense soft target of length `size`. */
  softTarget(answers: readonly string[]): Float32Array {
    const out = new Float32Array(this.size);
    const { indices, scores } = this.softScores(answers);
    indices.forEach((i, k) => void (out[i] = scores[k]!));
    return out;
  }
}
