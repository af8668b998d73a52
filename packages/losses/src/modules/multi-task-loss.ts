import { Module } from '@polymodal/nn';
import { ArgumentError, type Tensor, zeros } from '@polymodal/tensor';
import { type MultiTaskLossOutput, multiTaskLoss, uncertaintyWeightedLoss } from '../multi-task.js';

/**
 * Fixed-weight multi-task loss `Σ_i w_i·L_i` as a (parameter-free) module, reporting each term.
 *
 * ```ts
 * const total = new MultiTaskLoss({ itc: 1, itm: 1, mlm: 1 });
 * const { loss, terms } = total.forward({ itc, itm, mlm });
 * ```
 */
export class MultiTaskLoss extends Module {
  readonly weights: Readonly<Record<string, number>>;

  constructor(weights: Readonly<Record<string, number>>) {
    super();
    if (Object.keys(weights).length === 0)
      throw new ArgumentError('MultiTaskLoss', 'give at least one task weight');
    this.weights = { ...weights };
  }

  forward(losses: Readonly<Record<string, Tensor>>): MultiTaskLossOutput {
    return multiTaskLoss(losses, this.weights);
  }
}

/**
 * Uncertainty-weighted multi-task loss (Kendall, Gal & Cipolla 2018): `Σ_i exp(−s_i)·L_i + s_i`
 * with learnable log-variances `logVars` `[K]` (initialised to 0, i.e. weight 1).
 *
 * ```ts
 * const total = new UncertaintyWeightedLoss(['itc', 'itm', 'mlm']);
 * const { loss, terms } = total.forward({ itc, itm, mlm }); // terms.itc.weight = exp(−s_itc)
 * ```
 */
export class UncertaintyWeightedLoss extends Module {
  readonly taskNames: readonly string[];
  readonly logVars: Tensor;

  constructor(taskNames: readonly string[], options: { initLogVar?: number } = {}) {
    super();
    if (taskNames.length === 0 || new Set(taskNames).size !== taskNames.length) {
      throw new ArgumentError(
        'UncertaintyWeightedLoss',
        `taskNames must be distinct and non-empty, got [${taskNames}]`,
      );
    }
    this.taskNames = [...taskNames];
    const init = zeros([taskNames.length]);
    const initLogVar = options.initLogVar ?? 0;
    const logVars = initLogVar === 0 ? init : init.add(initLogVar);
    if (logVars !== init) init.dispose();
    this.logVars = this.registerParameter('logVars', logVars)!;
  }

  forward(losses: Readonly<Record<string, Tensor>>): MultiTaskLossOutput {
    return uncertaintyWeightedLoss(losses, this.logVars, this.taskNames);
  }
}
