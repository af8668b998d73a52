import { ArgumentError } from '@polymodal/tensor';
import { normalizeVqaAnswer, processPunctuation } from './vqa-normalize.js';

/**
 * Official VQA accuracy of one predicted answer against the human answers (10 in VQA v2)
 * (Antol et al. 2015, "VQA: Visual Question Answering"; Goyal et al. 2017 for v2), computed as in
 * the official evaluation script `vqaEval.py`:
 *
 *   acc = (1/n) Σ_{i=1..n} min(1, #{j ≠ i : gt_j = pred} / 3)
 *
 * i.e. `min(1, matches/3)` averaged over the n leave-one-annotator-out subsets. With 10 answers,
 * a prediction given by 1, 2, 3 and ≥4 annotators scores 0.3, 0.6, 0.9 and 1.0.
 *
 * Normalisation follows the script exactly: the prediction gets the full
 * {@link normalizeVqaAnswer}; the human answers get only `processPunctuation`, and only when they
 * are not all identical (the official script's behaviour; VQA's stored answers are already
 * lower-case and article-free).
 *
 * ```ts
 * const answers = ['2', '2', '2', '3', '3', '3', '3', '3', '3', '3'];
 * vqaAccuracy('Two', answers);   // 0.9: normalised to '2', which 3 of 10 annotators gave
 * vqaAccuracy('three', answers); // 1
 * ```
 * @returns a score in [0, 1] (the official script reports 100× this, rounded to 2 decimals).
 */
export function vqaAccuracy(prediction: string, answers: readonly string[]): number {
  if (typeof prediction !== 'string') {
    throw new ArgumentError('vqaAccuracy', `prediction must be a string, got ${typeof prediction}`);
  }
  if (!Array.isArray(answers) || answers.length === 0) {
    throw new ArgumentError('vqaAccuracy', 'answers must be a non-empty array of human answers');
  }
  const bad = answers.findIndex((a) => typeof a !== 'string');
  if (bad >= 0) throw new ArgumentError('vqaAccuracy', `answers[${bad}] is not a string`);
  const pred = normalizeVqaAnswer(prediction);
  const gts = new Set(answers).size > 1 ? answers.map(processPunctuation) : [...answers];
  const totalMatches = gts.reduce((n, a) => n + (a === pred ? 1 : 0), 0);
  let sum = 0;
  for (const a of gts) {
    const others = totalMatches - (a === pred ? 1 : 0);
    sum += Math.min(1, others / 3);
  }
  return sum / gts.length;
}

/** One VQA question for {@link evaluateVqa}. */
export interface VqaGroundTruth {
  /** The human answers (10 in VQA v2). */
  answers: readonly string[];
  /** E.g. "what color is the" (VQA's `question_type`). */
  questionType?: string;
  /** "yes/no", "number" or "other" (VQA's `answer_type`). */
  answerType?: string;
}

export interface VqaEvaluation {
  /** Mean VQA accuracy in [0, 1]. */
  overall: number;
  /** Mean accuracy per question type (questions without a type are left out). */
  perQuestionType: Record<string, number>;
  /** Mean accuracy per answer type. */
  perAnswerType: Record<string, number>;
  /** Accuracy of each question, in input order. */
  perQuestion: number[];
}

/**
 * VQA accuracy over a dataset: the official `overall`, `perQuestionType` and `perAnswerType`
 * (as fractions in [0, 1], not rounded percentages).
 *
 * ```ts
 * const { overall, perAnswerType } = evaluateVqa(['yes', '2'], [
 *   { answers: Array(10).fill('yes'), answerType: 'yes/no' },
 *   { answers: ['2', '2', '3', '3', '3', '3', '3', '3', '3', '3'], answerType: 'number' },
 * ]); // overall = (1 + 0.6) / 2
 * ```
 */
export function evaluateVqa(
  predictions: readonly string[],
  groundTruth: readonly VqaGroundTruth[],
): VqaEvaluation {
  if (!Array.isArray(predictions) || !Array.isArray(groundTruth))
    throw new ArgumentError('evaluateVqa', 'predictions and groundTruth must be arrays');
  if (predictions.length !== groundTruth.length) {
    throw new ArgumentError(
      'evaluateVqa',
      `got ${predictions.length} predictions for ${groundTruth.length} questions`,
    );
  }
  if (predictions.length === 0) throw new ArgumentError('evaluateVqa', 'no questions to evaluate');
  const perQuestion = predictions.map((p, i) => vqaAccuracy(p, groundTruth[i]!.answers));
  const byType = (key: 'questionType' | 'answerType'): Record<string, number> => {
    const sums = new Map<string, { total: number; count: number }>();
    groundTruth.forEach((gt, i) => {
      const k = gt[key];
      if (k === undefined) return;
      const s = sums.get(k) ?? { total: 0, count: 0 };
      s.total += perQuestion[i]!;
      s.count += 1;
      sums.set(k, s);
    });
    return Object.fromEntries([...sums].map(([k, s]) => [k, s.total / s.count]));
  };
  return {
    overall: perQuestion.reduce((a, b) => a + b, 0) / perQuestion.length,
    perQuestionType: byType('questionType'),
    perAnswerType: byType('answerType'),
    perQuestion,
  };
}
