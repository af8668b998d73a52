import {
  ArgumentError,
  assertDType,
  assertShape,
  assertTensor,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  formatShape,
  ShapeError,
  scope,
  type Tensor,
} from '@polymodal/tensor';
import { normalizeVqaAnswer } from './metrics/vqa-normalize.js';
import { assertBatch, assertFinite, shouldCheckOutput, shouldCheckTarget } from './validate.js';

export interface VqaSoftScoreOptions {
  /**
   * `'count'` (default): `min(1, count/3)` (the VQA paper's formula: 1/3, 2/3, 1 for 1, 2, ≥3
   * annotators). `'leaveOneOut'`: the official metric averaged over the 10 leave-one-out subsets
   * (0.3, 0.6, 0.9, 1.0), the table used by MMF/Pythia, ViLT and bottom-up-attention.
   */
  scoring?: 'count' | 'leaveOneOut';
}

function leaveOneOutScore(count: number, total: number): number {
  // Leaving out one of the `count` matching annotators leaves count−1 matches; any other leaves count.
  return (count * Math.min(1, (count - 1) / 3) + (total - count) * Math.min(1, count / 3)) / total;
}

/**
 * Soft VQA targets (Antol et al. 2015; Teney et al. 2018): for each answer in `answerVocab`, a
 * score from how many annotators gave it, after the official answer normalisation
 * ({@link normalizeVqaAnswer}). Vocabulary entries are matched as given, so build the vocabulary
 * from normalised answers. Answers outside the vocabulary are dropped.
 *
 * ```ts
 * vqaSoftScores(['2', 'two', '2', '3', …10 answers], ['1', '2', '3']); // Float32Array [0, 1, 0.333…]
 * ```
 * @returns Float32Array of length `answerVocab.length`.
 */
export function vqaSoftScores(
  answers: readonly string[],
  answerVocab: readonly string[] | ReadonlyMap<string, number>,
  options: VqaSoftScoreOptions = {},
): Float32Array {
  const op = 'vqaSoftScores';
  if (!Array.isArray(answers) || answers.length === 0) {
    throw new ArgumentError(op, 'answers must be a non-empty array of annotator answers');
  }
  const scoring = options.scoring ?? 'count';
  if (scoring !== 'count' && scoring !== 'leaveOneOut') {
    throw new ArgumentError(op, `scoring must be 'count' or 'leaveOneOut', got '${scoring}'`);
  }
  const index =
    answerVocab instanceof Map
      ? (answerVocab as ReadonlyMap<string, number>)
      : new Map((answerVocab as readonly string[]).map((a, i) => [a, i] as const));
  const size = answerVocab instanceof Map ? answerVocab.size : (answerVocab as readonly string[]).length;
  const counts = new Map<number, number>();
  for (const a of answers) {
    if (typeof a !== 'string') throw new ArgumentError(op, `answers must be strings, got ${typeof a}`);
    const i = index.get(normalizeVqaAnswer(a));
    if (i === undefined) continue;
    if (!Number.isInteger(i) || i < 0 || i >= size) {
      throw new ArgumentError(op, `answerVocab maps to index ${i}, outside [0, ${size})`);
    }
    counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  const out = new Float32Array(size);
  for (const [i, c] of counts) {
    out[i] = scoring === 'count' ? Math.min(1, c / 3) : leaveOneOutScore(c, answers.length);
  }
  return out;
}

/** Value checks of a loss that cost a read of the model's output. */
export interface LossCheckOptions {
  /**
   * Check `logits` for NaN/∞ first. It reads them back to the host (a device sync), so by default
   * it runs only in anomaly mode (`withAnomalyMode`); `true` forces it, `false` skips it.
   */
  checkFinite?: boolean;
}

export interface VqaLossOutput {
  /** Scalar loss. */
  loss: Tensor;
  logits: Tensor;
  targets: Tensor;
}

/**
 * VQA as multi-label classification over the answer vocabulary with soft targets
 * (Teney et al. 2018; ViLT, Kim et al. 2021; MMF's `logit_bce`): binary cross-entropy with logits,
 * averaged over all B·A entries and multiplied by the number of answers A, i.e. summed over
 * answers and averaged over the batch — exactly ViLT's
 * `F.binary_cross_entropy_with_logits(logits, targets) * targets.shape[1]`:
 *
 *   L = (1/B) Σ_b Σ_a [ −s_ba log σ(x_ba) − (1 − s_ba) log(1 − σ(x_ba)) ]
 *
 * ```ts
 * const { loss } = vqaLoss(logits, softTargets); // both [B, A], targets in [0, 1] (see vqaSoftScores)
 * ```
 */
export function vqaLoss(logits: Tensor, softTargets: Tensor, options: LossCheckOptions = {}): VqaLossOutput {
  const op = 'vqaLoss';
  assertTensor(op, 'logits', logits);
  assertTensor(op, 'softTargets', softTargets);
  assertShape(op, 'logits', logits, [null, null], '[B, A]');
  assertDType(op, 'logits', logits, 'float32');
  assertDType(op, 'softTargets', softTargets, 'float32');
  if (formatShape(softTargets.shape) !== formatShape(logits.shape)) {
    throw new ShapeError(
      op,
      `softTargets ${formatShape(softTargets.shape)} must match logits ${formatShape(logits.shape)}`,
    );
  }
  assertBatch(op, 'logits', logits);
  if (logits.shape[1] === 0) throw new ShapeError(op, `logits has no answers: ${formatShape(logits.shape)}`);
  if (shouldCheckOutput(logits, options.checkFinite)) assertFinite(op, 'logits', logits);
  if (shouldCheckTarget(softTargets)) {
    const t = softTargets.dataSync();
    const bad = t.findIndex((v) => !(v >= 0 && v <= 1));
    if (bad >= 0)
      throw new ArgumentError(op, `softTargets must be in [0, 1], got ${t[bad]} at flat index ${bad}`);
  }
  const numAnswers = logits.shape[1]!;
  const loss = scope(() => binaryCrossEntropyWithLogits(logits, softTargets).mul(numAnswers));
  return { loss, logits, targets: softTargets };
}

export interface AnswerCrossEntropyOptions extends LossCheckOptions {
  labelSmoothing?: number;
  /** Labels equal to this are skipped. Default −100. */
  ignoreIndex?: number;
}

export interface AnswerCrossEntropyLossOutput {
  /** Scalar: mean cross-entropy over the labels that are not `ignoreIndex`. */
  loss: Tensor;
  /** `[B, A]`, as given. */
  logits: Tensor;
  /** int32 `[B]`, as given. */
  labels: Tensor;
}

/**
 * Softmax cross-entropy over an answer vocabulary for single-answer datasets (GQA, NLVR2, SNLI-VE,
 * …): `L = −(1/B) Σ_b log softmax(logits_b)[label_b]`, with optional label smoothing.
 *
 * ```ts
 * const { loss } = answerCrossEntropyLoss(logits, labels); // logits [B, A], labels int32 [B]
 * ```
 */
export function answerCrossEntropyLoss(
  logits: Tensor,
  labels: Tensor,
  options: AnswerCrossEntropyOptions = {},
): AnswerCrossEntropyLossOutput {
  const op = 'answerCrossEntropyLoss';
  assertTensor(op, 'logits', logits);
  assertTensor(op, 'labels', labels);
  assertShape(op, 'logits', logits, [null, null], '[B, A]');
  assertDType(op, 'logits', logits, 'float32');
  assertDType(op, 'labels', labels, 'int32');
  const b = logits.shape[0]!;
  assertShape(op, 'labels', labels, [b], `[${b}] to match logits ${formatShape(logits.shape)}`);
  assertBatch(op, 'logits', logits);
  const ignoreIndex = options.ignoreIndex ?? -100;
  const a = logits.shape[1]!;
  if (shouldCheckTarget(labels)) {
    const values = labels.dataSync();
    const bad = values.findIndex((v) => v !== ignoreIndex && (v < 0 || v >= a));
    if (bad >= 0) throw new ArgumentError(op, `label ${values[bad]} at position ${bad} is outside [0, ${a})`);
  }
  if (shouldCheckOutput(logits, options.checkFinite)) assertFinite(op, 'logits', logits);
  const loss = scope(() =>
    crossEntropy(logits, labels, { ignoreIndex, labelSmoothing: options.labelSmoothing ?? 0 }),
  );
  return { loss, logits, labels };
}

/**
 * @deprecated Renamed {@link answerCrossEntropyLoss}, the function of the `AnswerCrossEntropyLoss`
 * module (`xLoss` ↔ `XLoss`).
 */
export const answerCrossEntropy: typeof answerCrossEntropyLoss = answerCrossEntropyLoss;
