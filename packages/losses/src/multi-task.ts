import { ArgumentError, assertTensor, formatShape, ShapeError, scope, type Tensor } from '@polymodal/tensor';
import { assertFinite, shouldCheckOutput } from './validate.js';

/** One task's contribution to a multi-task loss. */
export interface LossTerm {
  /** The task's own loss L_i (scalar), as given. */
  loss: Tensor;
  /** Its multiplier: a number for fixed weights, exp(−s_i) (scalar tensor) for uncertainty weighting. */
  weight: number | Tensor;
  /** What it adds to the total: w_i·L_i, or exp(−s_i)·L_i + s_i. */
  weighted: Tensor;
}

export interface MultiTaskLossOutput {
  /** Scalar total. */
  loss: Tensor;
  /** Each task's term, by name, in the order of the weights / task names. */
  terms: Record<string, LossTerm>;
}

function checkLosses(op: string, losses: Readonly<Record<string, Tensor>>, names: readonly string[]): void {
  if (names.length === 0) throw new ArgumentError(op, 'no tasks given');
  const given = Object.keys(losses);
  const unknown = given.filter((k) => !names.includes(k));
  const missing = names.filter((k) => !Object.hasOwn(losses, k));
  if (unknown.length || missing.length) {
    throw new ArgumentError(
      op,
      `losses must have exactly the tasks [${names.join(', ')}]` +
        (missing.length ? `; missing [${missing.join(', ')}]` : '') +
        (unknown.length ? `; unexpected [${unknown.join(', ')}]` : ''),
    );
  }
  for (const name of names) {
    const l = losses[name];
    assertTensor(op, `losses.${name}`, l);
    if (l.size !== 1)
      throw new ShapeError(op, `losses.${name} must be a scalar, got ${formatShape(l.shape)}`);
    // Reading a loss back is a device sync: only while debugging (anomaly mode).
    if (shouldCheckOutput(l, undefined)) assertFinite(op, `losses.${name}`, l);
  }
}

/**
 * Fixed-weight multi-task objective `L = Σ_i w_i·L_i` (e.g. ALBEF/BLIP's ITC + ITM + MLM with
 * weights 1). Every task with a weight must be given, and no other.
 *
 * ```ts
 * const { loss, terms } = multiTaskLoss({ itc, itm, mlm }, { itc: 1, itm: 1, mlm: 0.5 });
 * terms.mlm.weighted.item(); // 0.5 · mlm
 * ```
 */
export function multiTaskLoss(
  losses: Readonly<Record<string, Tensor>>,
  weights: Readonly<Record<string, number>>,
): MultiTaskLossOutput {
  const op = 'multiTaskLoss';
  const names = Object.keys(weights);
  for (const name of names) {
    if (!Number.isFinite(weights[name]))
      throw new ArgumentError(op, `weight of '${name}' must be finite, got ${weights[name]}`);
  }
  checkLosses(op, losses, names);
  const { total, weighted } = scope(() => {
    const weighted = names.map((name) => losses[name]!.reshape().mul(weights[name]!));
    return { total: weighted.reduce((a, b) => a.add(b)), weighted };
  });
  // The given losses are attached outside the scope so that it never adopts (and later frees) them.
  const terms: Record<string, LossTerm> = {};
  names.forEach((name, i) => {
    terms[name] = { loss: losses[name]!, weight: weights[name]!, weighted: weighted[i]! };
  });
  return { loss: total, terms };
}

/**
 * Homoscedastic-uncertainty task weighting (Kendall, Gal & Cipolla 2018, "Multi-Task Learning Using
 * Uncertainty to Weigh Losses for Scene Geometry and Semantics"), in the common simplified form
 *
 *   L = Σ_i exp(−s_i)·L_i + s_i,   s_i = log σ_i² learnable,
 *
 * where a task's weight exp(−s_i) falls as its learned uncertainty grows and the +s_i term stops
 * s_i from growing without bound.
 *
 * ```ts
 * const logVars = zeros([3], { requiresGrad: true });
 * const { loss } = uncertaintyWeightedLoss({ itc, itm, mlm }, logVars, ['itc', 'itm', 'mlm']);
 * ```
 * @param logVars float32 `[K]`: s_i for the i-th name of `taskNames`.
 */
export function uncertaintyWeightedLoss(
  losses: Readonly<Record<string, Tensor>>,
  logVars: Tensor,
  taskNames: readonly string[],
): MultiTaskLossOutput {
  const op = 'uncertaintyWeightedLoss';
  assertTensor(op, 'logVars', logVars);
  if (logVars.rank !== 1 || logVars.shape[0] !== taskNames.length) {
    throw new ShapeError(
      op,
      `logVars must be [${taskNames.length}] (one per task), got ${formatShape(logVars.shape)}`,
    );
  }
  checkLosses(op, losses, taskNames);
  if (shouldCheckOutput(logVars, undefined)) assertFinite(op, 'logVars', logVars);
  const { total, weights, weighted } = scope(() => {
    const weights: Tensor[] = [];
    const weighted: Tensor[] = [];
    taskNames.forEach((name, i) => {
      const s = logVars.slice(0, i, i + 1).reshape();
      const w = s.neg().exp();
      weights.push(w);
      weighted.push(w.mul(losses[name]!.reshape()).add(s));
    });
    return { total: weighted.reduce((a, b) => a.add(b)), weights, weighted };
  });
  const terms: Record<string, LossTerm> = {};
  taskNames.forEach((name, i) => {
    terms[name] = { loss: losses[name]!, weight: weights[i]!, weighted: weighted[i]! };
  });
  return { loss: total, terms };
}

/** @deprecated Renamed {@link multiTaskLoss}, the function of the `MultiTaskLoss` module (`xLoss` ↔ `XLoss`). */
export const weightedLossSum: typeof multiTaskLoss = multiTaskLoss;

/**
 * @deprecated Renamed {@link uncertaintyWeightedLoss}, the function of the `UncertaintyWeightedLoss`
 * module (`xLoss` ↔ `XLoss`).
 */
export const uncertaintyWeightedLossSum: typeof uncertaintyWeightedLoss = uncertaintyWeightedLoss;
