import { ArgumentError, checkPositiveInt } from '@polymodal/tensor';
import type { TrainerCallback, TrainerContext } from './callback.js';
import type { EvalLogs } from './trainer-types.js';

export interface EarlyStoppingOptions {
  /** Eval metric to watch (a key of `EvalLogs.metrics`, e.g. 'loss' or 'accuracy'). */
  metric: string;
  /** Whether lower (default) or higher is better. */
  mode?: 'min' | 'max';
  /** Evaluations without improvement before stopping. */
  patience: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
}

/**
 * Stops training when an eval metric has not improved for `patience` evaluations (Keras'
 * `EarlyStopping`, HF's `EarlyStoppingCallback`). The best value and the count of evaluations
 * without improvement live in `trainer.state` (`bestMetric`, `badEvals`), so they are checkpointed
 * and a resumed run continues counting where it stopped. One per Trainer.
 *
 * ```ts
 * new Trainer({ …, evalData, evalEvery: 100,
 *   callbacks: [new EarlyStopping({ metric: 'vqaAccuracy', mode: 'max', patience: 3 })] });
 * ```
 */
export class EarlyStopping implements TrainerCallback {
  readonly metric: string;
  readonly mode: 'min' | 'max';
  readonly patience: number;
  readonly minDelta: number;

  constructor(options: EarlyStoppingOptions) {
    const { metric, mode = 'min', patience, minDelta = 0 } = options ?? ({} as EarlyStoppingOptions);
    if (typeof metric !== 'string' || metric === '')
      throw new ArgumentError('EarlyStopping', 'metric must name an eval metric, e.g. "loss"');
    if (mode !== 'min' && mode !== 'max')
      throw new ArgumentError('EarlyStopping', `mode must be 'min' or 'max', got '${mode}'`);
    checkPositiveInt('EarlyStopping', 'patience', patience);
    if (!(minDelta >= 0)) throw new ArgumentError('EarlyStopping', `minDelta must be ≥ 0, got ${minDelta}`);
    this.metric = metric;
    this.mode = mode;
    this.patience = patience;
    this.minDelta = minDelta;
  }

  onEvalEnd(trainer: TrainerContext, logs: EvalLogs): void {
    const v = logs.metrics[this.metric];
    if (v === undefined)
      throw new ArgumentError(
        'EarlyStopping',
        `early stopping watches '${this.metric}' but eval produced [${Object.keys(logs.metrics).join(', ')}]`,
      );
    const { state } = trainer;
    const best = state.bestMetric;
    const improved =
      best === null || (this.mode === 'max' ? v > best + this.minDelta : v < best - this.minDelta);
    if (improved) {
      state.bestMetric = v;
      state.badEvals = 0;
    } else if (++state.badEvals >= this.patience) {
      state.shouldStop = true;
      trainer.log(
        `early stopping at step ${state.step}: '${this.metric}' did not improve for ${this.patience} evals`,
      );
    }
  }
}
