import { evaluateVqa, type VqaEvaluation } from '@polymodal/losses';
import { argmax, noGrad, scope } from '@polymodal/tensor';
import { collateVqa, type VqaExample } from './data.js';
import type { VqaModel } from './model.js';

export interface VqaReport extends VqaEvaluation {
  predictions: string[];
  /** A blind baseline: the most frequent training answer of each question type (no image). */
  blindBaseline: number;
}

/** Predicts the top answer of every example and scores it with the official VQA accuracy. */
export function predictAnswers(
  model: VqaModel,
  examples: readonly VqaExample[],
  answerList: readonly string[],
  padId: number,
  batchSize = 128,
): string[] {
  const wasTraining = model.training;
  model.eval();
  const predictions: string[] = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const ids = noGrad(() =>
      scope(() => {
        const batch = collateVqa(examples.slice(i, i + batchSize), padId);
        return argmax(model.forward(batch.pixelValues, batch.inputIds, batch.textMask), -1).dataSync();
      }),
    );
    for (const id of ids) predictions.push(answerList[id]!);
  }
  model.train(wasTraining);
  return predictions;
}

export function evaluateModel(
  model: VqaModel,
  train: readonly VqaExample[],
  val: readonly VqaExample[],
  answerList: readonly string[],
  padId: number,
): VqaReport {
  const predictions = predictAnswers(model, val, answerList, padId);
  const evaluation = evaluateVqa(
    predictions,
    val.map((e) => ({ answers: e.answers, questionType: e.questionType, answerType: e.answerType })),
  );
  return { ...evaluation, predictions, blindBaseline: blindBaseline(train, val) };
}

/** Accuracy of answering every question with its type's most common training answer. */
export function blindBaseline(train: readonly VqaExample[], val: readonly VqaExample[]): number {
  const counts = new Map<string, Map<string, number>>();
  for (const e of train) {
    const byAnswer = counts.get(e.questionType) ?? new Map<string, number>();
    const a = e.answers[0]!;
    byAnswer.set(a, (byAnswer.get(a) ?? 0) + 1);
    counts.set(e.questionType, byAnswer);
  }
  const guess = (type: string) => {
    const byAnswer = counts.get(type);
    return byAnswer ? [...byAnswer].sort((x, y) => y[1] - x[1])[0]![0] : '';
  };
  return evaluateVqa(
    val.map((e) => guess(e.questionType)),
    val.map((e) => ({ answers: e.answers })),
  ).overall;
}
