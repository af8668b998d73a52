/**
 * @polymodal/losses: multimodal pretraining losses (MLM, ITC/CLIP, SigLIP, ITM, VQA, multi-task)
 * and evaluation metrics (official VQA accuracy, Recall@K retrieval, accuracy).
 */

export {
  type ContrastiveLossOptions,
  type ContrastiveLossOutput,
  contrastiveLoss,
  l2Normalize,
  MAX_LOG_LOGIT_SCALE,
} from './contrastive.js';
export {
  type HardNegativeOptions,
  type HardNegatives,
  type ItmLossOutput,
  itmLabels,
  itmLoss,
  sampleHardNegatives,
} from './itm.js';
export { accuracy, type CategoryAccuracy, perCategoryAccuracy } from './metrics/accuracy.js';
export {
  type DirectionMetrics,
  type RetrievalMetrics,
  retrievalMetrics,
  type SimilarityMatrix,
} from './metrics/retrieval.js';
export {
  evaluateVqa,
  VQA_EVAL_COMMITS,
  type VqaAccuracyOptions,
  type VqaEvalRevision,
  type VqaEvaluation,
  type VqaGroundTruth,
  vqaAccuracy,
} from './metrics/vqa-accuracy.js';
export {
  cleanVqaAnswer,
  normalizeVqaAnswer,
  processDigitArticle,
  processPunctuation,
} from './metrics/vqa-normalize.js';
export {
  IGNORE_INDEX,
  type MaskedTokens,
  type MaskTokensOptions,
  type MlmLossOptions,
  type MlmLossOutput,
  maskTokens,
  mlmLoss,
} from './mlm.js';
export { ContrastiveLoss, type ContrastiveLossModuleOptions } from './modules/contrastive-loss.js';
export { ItmLoss } from './modules/itm-loss.js';
export { MlmLoss } from './modules/mlm-loss.js';
export { MultiTaskLoss, UncertaintyWeightedLoss } from './modules/multi-task-loss.js';
export { SigLipLoss, type SigLipLossOptions } from './modules/sig-lip-loss.js';
export { AnswerCrossEntropyLoss, VqaLoss } from './modules/vqa-loss.js';
export {
  type LossTerm,
  type MultiTaskLossOutput,
  multiTaskLoss,
  uncertaintyWeightedLoss,
  uncertaintyWeightedLossSum,
  weightedLossSum,
} from './multi-task.js';
export {
  type SigLipLossOutput,
  type SigmoidLossOptions,
  type SigmoidLossOutput,
  sigLipLoss,
  sigmoidLoss,
} from './sigmoid.js';
export {
  type AnswerCrossEntropyLossOutput,
  type AnswerCrossEntropyOptions,
  answerCrossEntropy,
  answerCrossEntropyLoss,
  type LossCheckOptions,
  type VqaLossOutput,
  type VqaSoftScoreOptions,
  vqaLoss,
  vqaSoftScores,
} from './vqa.js';
