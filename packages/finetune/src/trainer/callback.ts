import type { Module } from '@polymodal/nn';
import type { Trainer } from './trainer.js';
import type {
  EvalLogs,
  StepEnd,
  StepLogs,
  TrainerState,
  TrainHistory,
  TrainResult,
} from './trainer-types.js';

type Awaitable = void | Promise<void>;

/**
 * What a callback may use of any Trainer, whatever its batch and model types: the built-in
 * callbacks take this, so one instance fits every `Trainer<B, M>`.
 */
export interface TrainerContext {
  /** Counters; set `state.shouldStop = true` to end training after the current step. */
  readonly state: TrainerState;
  /** Every step's and evaluation's logs so far (steps arrive once per log period). */
  readonly history: TrainHistory;
  /** Step of the checkpoint this run resumed from; null for a fresh run. Set before `onTrainBegin`. */
  readonly resumedFrom: number | null;
  /** Optimizer steps the run aims at (`maxSteps`, or derived from the data's length); 0 if unknown. */
  readonly totalSteps: number;
  /** Optimizer steps between reads of the losses (`logEvery`). */
  readonly logEvery: number;
  readonly model: Module;
  /** The Trainer's log sink (`options.log`, default `console.log`). */
  log(line: string): void;
}

/**
 * Hooks into the Trainer's loop, each optional and possibly async, called in the order the
 * callbacks are listed (the built-in ones from the shorthand options first). After HF Trainer's
 * `TrainerCallback` and Lightning's `Callback`:
 *
 * - `onStepEnd` after every optimizer step, with host numbers only (step, epoch, lr);
 * - `onLog` once per log period (`logEvery` steps, and before an evaluation, a checkpoint and the
 *   end) with the logs of the steps since the last one: the losses are read back to the host there,
 *   in one read, not per step;
 * - `onException` when training throws (then the error propagates).
 *
 * ```ts
 * const stopAtLoss: TrainerCallback = {
 *   onLog: (trainer, logs) => { if (logs.some((l) => l.loss < 0.01)) trainer.state.shouldStop = true; },
 * };
 * new Trainer({ …, callbacks: [new EarlyStopping({ metric: 'accuracy', mode: 'max', patience: 3 }), stopAtLoss] });
 * ```
 */
export interface TrainerCallback<B = unknown, M extends Module = Module> {
  onTrainBegin?(trainer: Trainer<B, M>): Awaitable;
  onEpochBegin?(trainer: Trainer<B, M>, epoch: number): Awaitable;
  onStepEnd?(trainer: Trainer<B, M>, step: StepEnd): Awaitable;
  onLog?(trainer: Trainer<B, M>, logs: readonly StepLogs[]): Awaitable;
  onEvalEnd?(trainer: Trainer<B, M>, logs: EvalLogs): Awaitable;
  onCheckpoint?(trainer: Trainer<B, M>, path: string): Awaitable;
  onEpochEnd?(trainer: Trainer<B, M>, epoch: number): Awaitable;
  onTrainEnd?(trainer: Trainer<B, M>, result: TrainResult): Awaitable;
  onException?(trainer: Trainer<B, M>, error: unknown): Awaitable;
}

/** @deprecated The name before 0.2: use {@link TrainerCallback}. */
export type TrainerCallbacks<B = unknown, M extends Module = Module> = TrainerCallback<B, M>;
