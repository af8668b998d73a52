import { ArgumentError } from '@polymodal/tensor';
import {
  cleanVqaAnswer,
  normalizeVqaAnswer,
  processDigitArticle,
  processPunctuation,
} from './vqa-normalize.js';

/**
 * Revisions of the official evaluator `vqaEval.py` (GT-Vision-Lab/VQA) that `vqaAccuracy` can follow:
 * - `'2021'` (default): commit a013f00 (2021-03-11, "Fixed processing answers bug"), the current
 *   script, used by EvalAI and in papers since;
 * - `'2016'`: commit 458a8b2, the revision before it (Polymodal's behaviour up to 0.1).
 */
export type VqaEvalRevision = '2021' | '2016';

/** Source commits of the official script, by revision. */
export const VQA_EVAL_COMMITS: Readonly<Record<VqaEvalRevision, string>> = {
  '2021': 'a013f0043c1e2cdc995922dfe257f7149aa9af06',
  '2016': '458a8b268b1a239dc388e0af4423f3fe7477b04f',
};

export interface VqaAccuracyOptions {
  /** Which revision of the official script to follow. Default `'2021'` (a013f00). */
  revision?: VqaEvalRevision;
}

/** The human answers and the prediction as the official script compares them. */
function processedAnswers(
  prediction: string,
  answers: readonly string[],
  revision: VqaEvalRevision,
): { pred: string; gts: string[] } {
  if (revision === '2016') {
    // 458a8b2: the prediction is always fully normalised; human answers are used raw, and get
    // only processPunctuation when they are not all identical.
    const pred = normalizeVqaAnswer(prediction);
    return { pred, gts: new Set(answers).size > 1 ? answers.map(processPunctuation) : [...answers] };
  }
  // a013f00: everything is cleaned (\n, \t → space; strip); then, only when the cleaned human
  // answers are not all identical, humans and prediction alike get punctuation and digit/article
  // processing. When all humans agree, the prediction must equal their cleaned answer verbatim.
  const gts = answers.map(cleanVqaAnswer);
  const pred = cleanVqaAnswer(prediction);
  if (new Set(gts).size <= 1) return { pred, gts };
  const full = (a: string) => processDigitArticle(processPunctuation(a));
  return { pred: full(pred), gts: gts.map(full) };
}

/**
 * Official VQA accuracy of one predicted answer against the human answers (10 in VQA v2)
 * (Antol et al. 2015, "VQA: Visual Question Answering"; Goyal et al. 2017 for v2), computed exactly
 * as the official evaluation script `vqaEval.py` of GT-Vision-Lab/VQA at commit a013f00 (2021,
 * the current revision; `revision: '2016'` follows 458a8b2):
 *
 *   acc = (1/n) Σ_{i=1..n} min(1, #{j ≠ i : gt_j = pred} / 3)
 *
 * i.e. `min(1, matches/3)` averaged over the n leave-one-annotator-out subsets. With 10 answers,
 * a prediction given by 1, 2, 3 and ≥4 annotators scores 0.3, 0.6, 0.9 and 1.0.
 *
 * Processing (a013f00): prediction and human answers have `\n`/`\t` replaced by spaces and are
 * stripped (Python whitespace, {@link cleanVqaAnswer}); if the human answers then differ, all of
 * them and the prediction get `processPunctuation` and `processDigitArticle` (case, number words,
 * articles, contractions); if they all agree, nothing more happens, so `'Two'` scores 0 against ten
 * `'two'` (as in the official script). Checked against the official script itself on 1,010
 * questions (`fixtures/vqa-eval.json`, `scripts/make-vqa-eval-fixtures.py`).
 *
 * ```ts
 * vqaAccuracy('2', ['two', 'two', 'two', 'two', '2', '2', '2', '3', '3', '3']); // 1: 'two' → '2', 7 of 10
 * vqaAccuracy('yes', [' yes', ' yes', ' yes', ' yes', 'no', 'no', 'no', 'no', 'no', 'no']); // 1
 * vqaAccuracy('Two', ['2', '2', '2', '3', '3', '3', '3', '3', '3', '3']); // 0.9
 * vqaAccuracy('Two', Array(10).fill('two')); // 0: all agree, so the prediction is not normalised
 * ```
 * @returns a score in [0, 1] (the official script reports 100× this, rounded to 2 decimals).
 */
export function vqaAccuracy(
  prediction: string,
  answers: readonly string[],
  options: VqaAccuracyOptions = {},
): number {
  if (typeof prediction !== 'string') {
    throw new ArgumentError('vqaAccuracy', `prediction must be a string, got ${typeof prediction}`);
  }
  if (!Array.isArray(answers) || answers.length === 0) {
    throw new ArgumentError('vqaAccuracy', 'answers must be a non-empty array of human answers');
  }
  const bad = answers.findIndex((a) => typeof a !== 'string');
  if (bad >= 0) throw new ArgumentError('vqaAccuracy', `answers[${bad}] is not a string`);
  const revision = options.revision ?? '2021';
  if (revision !== '2021' && revision !== '2016') {
    throw new ArgumentError('vqaAccuracy', `revision must be '2021' or '2016', got '${String(revision)}'`);
  }
  const { pred, gts } = processedAnswers(prediction, answers, revision);
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
 * (as fractions in [0, 1], not rounded percentages), per question as {@link vqaAccuracy} (revision
 * a013f00 unless `options.revision` says otherwise).
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
  options: VqaAccuracyOptions = {},
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
  const perQuestion = predictions.map((p, i) => vqaAccuracy(p, groundTruth[i]!.answers, options));
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
