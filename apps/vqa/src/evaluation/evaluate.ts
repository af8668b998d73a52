import { withEval } from '@polymodal/app-kit';
import { evaluateVqa, type VqaEvaluation } from '@polymodal/losses';
import { argmax, noGrad, scope } from '@polymodal/tensor';
import { inOrder } from '../data/batches.js';
import { majorityAnswer, type VqaExample, type VqaSplit } from '../data/dataset.js';
import type { VqaModel } from '../model/vqa-model.js';

/** RELATIONAL question types of the generated Sort-of-CLEVR data (Santoro et al. 2017's split). */
export const RELATIONAL_TYPES: ReadonlySet<string> = new Set([
  'closest',
  'furthest',
  'count_shape',
  'count_color',
  'relative_position',
]);

export interface VqaReport extends VqaEvaluation {
  predictions: string[];
  /** Accuracy of answering each question type with its most common training answer (no image). */
  blindBaseline: number;
  blindPerQuestionType: Record<string, number>;
  blindPerAnswerType: Record<string, number>;
  /** Mean accuracy of the non-relational and the relational question types' questions. */
  nonRelational: number;
  relational: number;
  /** The most frequent (expected → predicted) mistakes. */
  confusions: { expected: string; predicted: string; count: number }[];
}

/** The top answer for every example, in order (eval mode, no autograd, batches of `batchSize`). */
export function predictAnswers(
  model: VqaModel,
  split: VqaSplit,
  answerList: readonly string[],
  padId: number,
  batchSize = 256,
): string[] {
  return withEval(model, () => {
    const out: string[] = [];
    for (const batch of inOrder(split, batchSize, padId)) {
      const ids = noGrad(() =>
        scope(() => {
          const fused = model.fuse(
            model.encodeImage(batch.pixelValues),
            batch.inputIds,
            batch.mask,
            batch.imageIndex,
          );
          return argmax(model.head.forward(fused), -1).dataSync();
        }),
      );
      for (const k of [batch.pixelValues, batch.imageIndex, batch.inputIds, batch.mask, batch.labels])
        k.dispose();
      for (const id of ids) out.push(answerList[id]!);
    }
    return out;
  });
}

/**
 * The official VQA accuracy (GT-Vision-Lab vqaEval.py, a013f00) of `predictions` on `val`,
 * overall, per question type and answer type, split into non-relational and relational types,
 * next to a blind baseline (each question type's most common training answer), with the ten most
 * frequent confusions.
 */
export function scorePredictions(
  predictions: readonly string[],
  train: readonly VqaExample[],
  val: readonly VqaExample[],
): VqaReport {
  const truth = val.map((e) => ({
    answers: e.answers,
    questionType: e.questionType,
    answerType: e.answerType,
  }));
  const evaluation = evaluateVqa([...predictions], truth);
  const prior = typePrior(train);
  const blind = evaluateVqa(
    val.map((e) => prior.get(e.questionType) ?? ''),
    truth,
  );
  const mean = (keep: (e: VqaExample) => boolean) => {
    const scores = evaluation.perQuestion.filter((_, i) => keep(val[i]!));
    return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : Number.NaN;
  };
  const confusions = new Map<string, number>();
  predictions.forEach((p, i) => {
    if (evaluation.perQuestion[i]! >= 1) return;
    const key = `${majorityAnswer(val[i]!.answers)}\u0000${p}`;
    confusions.set(key, (confusions.get(key) ?? 0) + 1);
  });
  return {
    ...evaluation,
    predictions: [...predictions],
    blindBaseline: blind.overall,
    blindPerQuestionType: blind.perQuestionType,
    blindPerAnswerType: blind.perAnswerType,
    nonRelational: mean((e) => !RELATIONAL_TYPES.has(e.questionType)),
    relational: mean((e) => RELATIONAL_TYPES.has(e.questionType)),
    confusions: [...confusions]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([key, count]) => {
        const [expected, predicted] = key.split('\u0000') as [string, string];
        return { expected, predicted, count };
      }),
  };
}

/** Each question type's most common answer in the training split (counted once, shared: read-only). */
export function typePrior(train: readonly VqaExample[]): ReadonlyMap<string, string> {
  // Every evaluation of a run asks for the same split's prior: count it once.
  const known = priors.get(train);
  if (known) return known;
  const counts = new Map<string, Map<string, number>>();
  for (const e of train) {
    const byAnswer = counts.get(e.questionType) ?? new Map<string, number>();
    const a = majorityAnswer(e.answers);
    byAnswer.set(a, (byAnswer.get(a) ?? 0) + 1);
    counts.set(e.questionType, byAnswer);
  }
  const out = new Map<string, string>();
  for (const [type, byAnswer] of counts) {
    out.set(type, [...byAnswer].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0]![0]);
  }
  priors.set(train, out);
  return out;
}
const priors = new WeakMap<readonly VqaExample[], ReadonlyMap<string, string>>();

/** Predicts and scores the validation split. */
export function evaluateModel(
  model: VqaModel,
  train: VqaSplit,
  val: VqaSplit,
  answerList: readonly string[],
  padId: number,
): VqaReport {
  return scorePredictions(predictAnswers(model, val, answerList, padId), train.examples, val.examples);
}

/** The report as the table the CLI prints. */
export function formatReport(r: VqaReport): string {
  const pct = (v: number) => (Number.isNaN(v) ? '   –  ' : `${(100 * v).toFixed(1).padStart(5)}%`);
  const types = Object.keys(r.perQuestionType).sort(
    (a, b) => Number(RELATIONAL_TYPES.has(a)) - Number(RELATIONAL_TYPES.has(b)) || (a < b ? -1 : 1),
  );
  return [
    `VQA accuracy (official metric) on ${r.predictions.length} questions: ${pct(r.overall).trim()}  (blind baseline ${pct(r.blindBaseline).trim()})`,
    `non-relational ${pct(r.nonRelational).trim()}, relational ${pct(r.relational).trim()}`,
    '',
    `  ${'question type'.padEnd(20)} ${'model'.padStart(6)} ${'blind'.padStart(6)}`,
    ...types.map(
      (t) =>
        `  ${`${t}${RELATIONAL_TYPES.has(t) ? ' (rel.)' : ''}`.padEnd(20)} ${pct(r.perQuestionType[t]!)} ${pct(r.blindPerQuestionType[t] ?? Number.NaN)}`,
    ),
  ].join('\n');
}
