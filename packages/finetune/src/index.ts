/**
 * @polymodal/finetune: optimizers, LR schedules (PyTorch and Hugging Face names), layer-wise LR
 * decay, freezing, gradient accumulation and clipping, EMA, LoRA and a crash-safe Trainer. Runs
 * in browsers and Node; files on disk (checkpoint store, metrics log, report, LoRA adapter files,
 * the terminal progress bar and the Trainer that writes them) are in `@polymodal/finetune/node`.
 */

export {
  freezeParameters,
  GradualUnfreezer,
  type GradualUnfreezingOptions,
  type ParameterCountReport,
  parameterCountReport,
  unfreezeParameters,
} from './layers/freezing.js';
export {
  type LayerDecayGroup,
  type LayerDecayOptions,
  layerScale,
  layerWiseLrDecayGroups,
} from './layers/layer-decay.js';
export { defaultLayerId, type HasNamedParameters, type LayerIdFn } from './layers/layer-id.js';
export {
  type ApplyLoraOptions,
  applyLora,
  loadLoraStateDict,
  loraLayers,
  loraStateDict,
  mergeLora,
  unmergeLora,
} from './lora/apply-lora.js';
export { LoraLinear } from './lora/lora-linear.js';
export { LoraProjection } from './lora/lora-projection.js';
export { type LoraMergeTarget, type LoraOptions, LoraUpdate } from './lora/lora-update.js';
export { Adam, type AdamOptions, AdamW } from './optim/adam.js';
export {
  type BaseHyperParams,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
} from './optim/optimizer.js';
export {
  loadOptimizerState,
  type OptimizerStateMeta,
  type SavedOptimizerState,
  saveOptimizerState,
} from './optim/optimizer-state-file.js';
export {
  defaultNoDecay,
  paramGroupsWithWeightDecay,
  type WeightDecayGroupOptions,
} from './optim/param-groups.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export { ChainedScheduler } from './schedulers/chained-scheduler.js';
export {
  type GetSchedulerOptions,
  getScheduler,
  SCHEDULER_NAMES,
  type SchedulerName,
} from './schedulers/get-scheduler.js';
export {
  constantWithWarmupLambda,
  cosineLambda,
  cosineWithMinLrLambda,
  cosineWithRestartsLambda,
  inverseSqrtLambda,
  linearLambda,
  polynomialLambda,
  type WarmupType,
  type WsdOptions,
  wsdLambda,
} from './schedulers/hf-schedules.js';
export { LambdaLR, LRScheduler, type Scheduler, type SchedulerStateDict } from './schedulers/lr-scheduler.js';
export { MultiStepLR } from './schedulers/multi-step-lr.js';
export { OneCycleLR, type OneCycleLROptions } from './schedulers/one-cycle-lr.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './schedulers/reduce-lr-on-plateau.js';
export { SequentialLR } from './schedulers/sequential-lr.js';
export { StepLR } from './schedulers/step-lr.js';
export type { TrainerCallback, TrainerCallbacks, TrainerContext } from './trainer/callback.js';
export { CheckpointError } from './trainer/checkpoint-error.js';
export type { CheckpointStorage, LoadedCheckpoint } from './trainer/checkpoint-storage.js';
export { EarlyStopping, type EarlyStoppingOptions } from './trainer/early-stopping.js';
export {
  createProgress,
  type ProgressFactory,
  type ProgressListener,
  type ProgressMode,
  type ProgressReporter,
  type ProgressUpdate,
} from './trainer/progress.js';
export { ProgressCallback, type ProgressCallbackOptions } from './trainer/progress-callback.js';
export { lineChartSvg, reportHtml, type Series } from './trainer/svg-report.js';
export { Trainer, type TrainerOptions } from './trainer/trainer.js';
export type {
  Batches,
  EvalLogs,
  LossOutput,
  StepEnd,
  StepLogs,
  TrainerState,
  TrainHistory,
  TrainResult,
} from './trainer/trainer-types.js';
export {
  type ClipGradNormOptions,
  clipGradNorm,
  clipGradNormTensor,
  clipGradValue,
} from './training/clip-grad-norm.js';
export { type EmaOptions, ExponentialMovingAverage } from './training/ema.js';
export { GradientAccumulator } from './training/gradient-accumulator.js';
export {
  type LoadedTrainingState,
  type LoadTrainingStateOptions,
  loadTrainingState,
  saveTrainingState,
  TRAINING_STATE_FILES,
  type TrainingParts,
  type TrainingStateFiles,
} from './training/training-state.js';
export { matchesAny, namePattern } from './util/name-pattern.js';
