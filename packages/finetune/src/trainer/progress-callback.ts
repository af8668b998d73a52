import type { TrainerCallback, TrainerContext } from './callback.js';
import {
  createProgress,
  type ProgressFactory,
  type ProgressMode,
  type ProgressReporter,
} from './progress.js';
import type { EvalLogs, StepEnd, StepLogs } from './trainer-types.js';

export interface ProgressCallbackOptions {
  /** 'auto' (default): a bar on a TTY, log lines otherwise; 'none' shows nothing. */
  mode?: ProgressMode;
  /** Log-line period in steps (default: the Trainer's `logEvery`). */
  logEvery?: number;
  /** Makes the reporter (default `createProgress`; `@polymodal/finetune/node` passes its terminal-aware one). */
  createReporter?: ProgressFactory;
}

/**
 * Shows training progress (`createProgress`; the terminal bar through `@polymodal/finetune/node`): a bar that moves every step and shows the loss and
 * learning rate as they are read (once per log period), or a log line every `logEvery` steps, plus
 * a line per evaluation. The Trainer adds one unless `progress: 'none'` or one is given.
 *
 * ```ts
 * new Trainer({ …, progress: 'none', callbacks: [new ProgressCallback({ mode: 'log', logEvery: 50 })] });
 * ```
 */
export class ProgressCallback implements TrainerCallback {
  private reporter: ProgressReporter | null = null;

  constructor(readonly options: ProgressCallbackOptions = {}) {}

  onTrainBegin(trainer: TrainerContext): void {
    this.reporter?.stop();
    this.reporter = (this.options.createReporter ?? createProgress)(
      this.options.mode ?? 'auto',
      this.options.logEvery ?? trainer.logEvery,
      (l) => trainer.log(l),
    );
    this.reporter.start(trainer.totalSteps, trainer.state.step);
  }

  onStepEnd(_trainer: TrainerContext, step: StepEnd): void {
    this.reporter?.update(step.step);
  }

  onLog(_trainer: TrainerContext, logs: readonly StepLogs[]): void {
    for (const l of logs) this.reporter?.update(l.step, { loss: l.loss, lr: l.lr });
  }

  onEvalEnd(_trainer: TrainerContext, logs: EvalLogs): void {
    this.reporter?.log(
      `eval @ step ${logs.step}: ${Object.entries(logs.metrics)
        .map(([k, v]) => `${k}=${v.toFixed(4)}`)
        .join(' ')}`,
    );
  }

  onTrainEnd(): void {
    this.stop();
  }

  onException(): void {
    this.stop();
  }

  private stop(): void {
    this.reporter?.stop();
    this.reporter = null;
  }
}
