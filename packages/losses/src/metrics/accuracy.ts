import { ArgumentError } from '@polymodal/tensor';

type Label = number | string;

/**
 * Top-1 accuracy: the fraction of positions where `predictions[i] === targets[i]`.
 *
 * ```ts
 * accuracy([1, 2, 3, 4], [1, 2, 0, 4]); // 0.75
 * accuracy(['yes', 'no'], ['yes', 'yes']); // 0.5
 * ```
 * @returns a fraction in [0, 1].
 */
export function accuracy(predictions: ArrayLike<Label>, targets: ArrayLike<Label>): number {
  assertArrayLike('accuracy', 'predictions', predictions);
  assertArrayLike('accuracy', 'targets', targets);
  if (predictions.length !== targets.length) {
    throw new ArgumentError(
      'accuracy',
      `got ${predictions.length} predictions for ${targets.length} targets`,
    );
  }
  if (predictions.length === 0) throw new ArgumentError('accuracy', 'predictions and targets are empty');
  let correct = 0;
  for (let i = 0; i < predictions.length; i++) if (predictions[i] === targets[i]) correct++;
  return correct / predictions.length;
}

/** Mean score and number of items of one category. */
export interface CategoryAccuracy {
  accuracy: number;
  count: number;
}

/**
 * Mean of per-item scores within each category, e.g. VQA accuracy per question type
 * ("how many", "what color is the", …) or 0/1 correctness per answer type. Categories appear in
 * first-seen order.
 *
 * ```ts
 * perCategoryAccuracy([1, 0, 0.6], ['yes/no', 'yes/no', 'number']);
 * // { 'yes/no': { accuracy: 0.5, count: 2 }, number: { accuracy: 0.6, count: 1 } }
 * ```
 * @param scores per-item scores in [0, 1] (1/0 for exact-match tasks, VQA accuracy for VQA).
 */
export function perCategoryAccuracy(
  scores: ArrayLike<number>,
  categories: ArrayLike<string>,
): Record<string, CategoryAccuracy> {
  assertArrayLike('perCategoryAccuracy', 'scores', scores);
  assertArrayLike('perCategoryAccuracy', 'categories', categories);
  if (scores.length !== categories.length) {
    throw new ArgumentError(
      'perCategoryAccuracy',
      `got ${scores.length} scores for ${categories.length} categories`,
    );
  }
  const out: Record<string, CategoryAccuracy> = {};
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s)) {
      throw new ArgumentError('perCategoryAccuracy', `score ${s} at position ${i} is not finite`);
    }
    const c = categories[i]!;
    const entry = Object.hasOwn(out, c) ? out[c]! : (out[c] = { accuracy: 0, count: 0 });
    // Running mean keeps the value a mean at every step.
    entry.count += 1;
    entry.accuracy += (s - entry.accuracy) / entry.count;
  }
  return out;
}

/** An array or typed array (a Tensor has no `length`: every count would read undefined and give NaN). */
function assertArrayLike(op: string, name: string, value: unknown): void {
  const length = (value as { length?: unknown } | null)?.length;
  if (typeof value === 'string' || !Number.isSafeInteger(length) || (length as number) < 0) {
    const hint =
      value !== null && typeof value === 'object' && 'dataSync' in value
        ? ' (read a tensor with dataSync() or array())'
        : '';
    throw new ArgumentError(op, `${name} must be an array or typed array${hint}`);
  }
}
