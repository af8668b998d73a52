import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AnswerVocab, readVqaV2 } from '@polymodal/data';
import type { VqaBundle } from '../bundle.js';
import { encodeSplit, readSplit, type SplitSource, type VqaExample } from '../data/dataset.js';
import { predictAnswers, scorePredictions, type VqaReport } from './evaluate.js';

/** What `eval` reports: where it looked, and the official scores with the blind baseline. */
export interface BundleEvaluation {
  bundle: string;
  val: SplitSource;
  /** The split the blind baseline learned its answer per question type from (null: none found). */
  train: SplitSource | null;
  questions: number;
  report: Omit<VqaReport, 'perQuestion' | 'predictions'>;
  /** Each question's id, prediction and score. */
  perQuestion: { questionId: number; question: string; prediction: string; accuracy: number }[];
}

/** Is there a questions file for this split? */
export function hasSplit(source: SplitSource): boolean {
  return existsSync(join(source.root, `v2_OpenEnded_mscoco_${source.split}_questions.json`));
}

/**
 * Scores a bundle on a VQA v2-layout split with the official metric, overall, per question type
 * and per answer type, next to the blind baseline (each question type's most common answer in
 * `train`, when that split is there) and the ten most frequent confusions.
 */
export async function evaluateBundle(
  bundle: VqaBundle,
  val: SplitSource,
  train: SplitSource | null,
): Promise<BundleEvaluation> {
  const raw = await readSplit(val);
  // The bundle's answers already start with [UNK].
  const vocab = {
    tokenizer: bundle.tokenizer,
    answers: new AnswerVocab(bundle.answers, false),
    maxLength: bundle.config.maxTextLength,
  };
  const split = await encodeSplit({ ...raw, captions: [] }, vocab, bundle.processor);
  const predictions = predictAnswers(bundle.model, split, bundle.answers, bundle.tokenizer.padId);
  // The blind baseline needs the training questions' types and answers, not their images.
  const trainExamples: VqaExample[] = [];
  if (train)
    for (const s of (await readVqaV2({ root: train.root, split: train.split })).samples)
      trainExamples.push({
        questionId: s.questionId,
        imageIndex: -1,
        question: s.question,
        inputIds: [],
        label: -100,
        answers: s.answers,
        questionType: s.questionType ?? 'unknown',
        answerType: s.answerType ?? 'unknown',
      });
  const {
    perQuestion,
    predictions: _p,
    ...report
  } = scorePredictions(predictions, trainExamples, split.examples);
  if (!train) {
    report.blindBaseline = Number.NaN;
    report.blindPerQuestionType = {};
    report.blindPerAnswerType = {};
  }
  return {
    bundle: bundle.source,
    val,
    train,
    questions: split.examples.length,
    report,
    perQuestion: split.examples.map((e, i) => ({
      questionId: e.questionId,
      question: e.question,
      prediction: predictions[i]!,
      accuracy: perQuestion[i]!,
    })),
  };
}

/** The evaluation as a short markdown report. */
export function evaluationMarkdown(e: BundleEvaluation): string {
  const pct = (v: number | undefined) =>
    v === undefined || Number.isNaN(v) ? '–' : `${(100 * v).toFixed(1)} %`;
  const r = e.report;
  const table = (title: string, model: Record<string, number>, blind: Record<string, number>) => [
    `| ${title} | model | blind |`,
    '|---|---:|---:|',
    ...Object.keys(model)
      .sort()
      .map((k) => `| ${k} | ${pct(model[k])} | ${pct(blind[k])} |`),
  ];
  return [
    `# VQA evaluation of \`${e.bundle}\``,
    '',
    `${e.questions} questions of \`${e.val.root}\` (${e.val.split}), official VQA accuracy (GT-Vision-Lab vqaEval.py).`,
    e.train
      ? `Blind baseline: each question type's most common answer in ${e.train.split}.`
      : 'Blind baseline: none (no training split found next to the data).',
    '',
    `**Overall: ${pct(r.overall)}** (blind baseline ${pct(r.blindBaseline)})`,
    '',
    ...table('answer type', r.perAnswerType, r.blindPerAnswerType),
    '',
    ...table('question type', r.perQuestionType, r.blindPerQuestionType),
    '',
    '## Most frequent confusions',
    '',
    '| expected | predicted | count |',
    '|---|---|---:|',
    ...r.confusions.map((c) => `| ${c.expected} | ${c.predicted} | ${c.count} |`),
    '',
  ].join('\n');
}
