import type { Tensor } from '@polymodal/tensor';

/**
 * Batches for one epoch per iteration: an array, a generator-backed iterable or an async iterable
 * such as @polymodal/data's `DataLoader`. Optional hooks: `stateDict`/`loadStateDict` (its
 * position is then saved in checkpoints and restored on resume), `setEpoch`, `length`.
 *
 * Ownership: tensors a source makes while producing a batch (found in plain objects, arrays and
 * Maps) are freed by the Trainer once that batch's step is done; tensors that existed before (an
 * array of batches you built) stay yours. A source must not hand out a tensor it made for one
 * batch again in another.
 */
export type Batches<B> = (AsyncIterable<B> | Iterable<B>) & {
  stateDict?(): unknown;
  loadStateDict?(state: never): void;
  setEpoch?(epoch: number): void;
  readonly length?: number;
};

/** What `computeLoss` returns: one loss, or several named ones (summed with `lossWeights`). */
export type LossOutput = Tensor | Record<string, Tensor>;

/**
 * What `onStepEnd` hears right after each optimizer step: host numbers only. The step's losses
 * live on the device until the next log period (`logEvery`); they arrive in `onLog` as
 * {@link StepLogs}.
 */
export interface StepEnd {
  step: number;
  epoch: number;
  /** Learning rate of the first param group (after the scheduler step). */
  lr: number;
}

/** One optimizer step's logs, read back to the host once per log period and passed to `onLog`. */
export interface StepLogs extends StepEnd {
  /** Weighted total loss, averaged over the accumulation window. */
  loss: number;
  /** Each named loss (unweighted), averaged over the accumulation window. */
  losses: Record<string, number>;
  /** Global gradient 2-norm before clipping (with `maxGradNorm`). */
  gradNorm?: number;
}

/** Logged after every evaluation: `loss`, `loss/<name>` for multi-task losses, and metrics. */
export interface EvalLogs {
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

/** The trainer's resumable counters (saved in every checkpoint's `trainer.json`). */
export interface TrainerState {
  step: number;
  epoch: number;
  /** Batches consumed in the current epoch. */
  batchInEpoch: number;
  /** Set by a callback (or early stopping) to end training after the current step. */
  shouldStop: boolean;
  /** Best value of the metric early stopping watches (kept here so a resume continues it). */
  bestMetric: number | null;
  /** Evaluations without improvement, for early stopping. */
  badEvals: number;
}

/** Training history: every step's logs and every evaluation's. */
export interface TrainHistory {
  train: StepLogs[];
  eval: EvalLogs[];
}

export interface TrainResult {
  state: TrainerState;
  stoppedEarly: boolean;
  /** Step of the checkpoint the run resumed from, if any. */
  resumedFrom: number | null;
  history: TrainHistory;
  /** The HTML report, when a `TrainingReport` callback (or `outputDir`) wrote one. */
  reportPath?: string;
}
