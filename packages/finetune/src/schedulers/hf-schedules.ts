/**
 * Hugging Face's schedule multipliers (`transformers/optimization.py`), as pure functions of the
 * step: each returns the factor that `LambdaLR` multiplies the base lr by. The names of the HF
 * functions they reproduce are given on each.
 */

/** Linear warmup factor `step / max(1, warmup)` shared by every HF schedule. */
function warmup(step: number, numWarmupSteps: number): number {
  return step / Math.max(1, numWarmupSteps);
}

/** `get_constant_schedule_with_warmup`. */
export function constantWithWarmupLambda(numWarmupSteps: number): (step: number) => number {
  return (step) => (step < numWarmupSteps ? warmup(step, numWarmupSteps) : 1);
}

/** `get_linear_schedule_with_warmup`: warmup, then linear decay to 0 at `numTrainingSteps`. */
export function linearLambda(numWarmupSteps: number, numTrainingSteps: number): (step: number) => number {
  return (step) =>
    step < numWarmupSteps
      ? warmup(step, numWarmupSteps)
      : Math.max(0, (numTrainingSteps - step) / Math.max(1, numTrainingSteps - numWarmupSteps));
}

function progress(step: number, numWarmupSteps: number, numTrainingSteps: number): number {
  return (step - numWarmupSteps) / Math.max(1, numTrainingSteps - numWarmupSteps);
}

/** `get_cosine_schedule_with_warmup` (numCycles 0.5: one half-cosine from 1 to 0). */
export function cosineLambda(
  numWarmupSteps: number,
  numTrainingSteps: number,
  numCycles = 0.5,
): (step: number) => number {
  return (step) => {
    if (step < numWarmupSteps) return warmup(step, numWarmupSteps);
    const p = progress(step, numWarmupSteps, numTrainingSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * p)));
  };
}

/** `get_cosine_with_hard_restarts_schedule_with_warmup`. */
export function cosineWithRestartsLambda(
  numWarmupSteps: number,
  numTrainingSteps: number,
  numCycles = 1,
): (step: number) => number {
  return (step) => {
    if (step < numWarmupSteps) return warmup(step, numWarmupSteps);
    const p = progress(step, numWarmupSteps, numTrainingSteps);
    if (p >= 1) return 0;
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((numCycles * p) % 1))));
  };
}

/** `get_polynomial_decay_schedule_with_warmup`: decays from `lrInit` to `lrEnd` with `power`. */
export function polynomialLambda(
  numWarmupSteps: number,
  numTrainingSteps: number,
  lrInit: number,
  lrEnd = 1e-7,
  power = 1,
): (step: number) => number {
  return (step) => {
    if (step < numWarmupSteps) return warmup(step, numWarmupSteps);
    if (step > numTrainingSteps) return lrEnd / lrInit;
    const lrRange = lrInit - lrEnd;
    const decaySteps = numTrainingSteps - numWarmupSteps;
    const pctRemaining = 1 - (step - numWarmupSteps) / decaySteps;
    return (lrRange * pctRemaining ** power + lrEnd) / lrInit;
  };
}

/** `get_inverse_sqrt_schedule`: warmup, then `1/√((step + timescale − warmup)/timescale)`. */
export function inverseSqrtLambda(numWarmupSteps: number, timescale?: number): (step: number) => number {
  const ts = timescale ?? (numWarmupSteps || 10_000);
  return (step) => {
    if (step < numWarmupSteps) return warmup(step, numWarmupSteps);
    const shift = ts - numWarmupSteps;
    return 1 / Math.sqrt((step + shift) / ts);
  };
}

/** `get_cosine_with_min_lr_schedule_with_warmup`: cosine that bottoms out at `minLrRate`. */
export function cosineWithMinLrLambda(
  numWarmupSteps: number,
  numTrainingSteps: number,
  minLrRate: number,
  numCycles = 0.5,
): (step: number) => number {
  return (step) => {
    if (step < numWarmupSteps) return warmup(step, numWarmupSteps);
    const p = progress(step, numWarmupSteps, numTrainingSteps);
    const factor = 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * p));
    return Math.max(0, factor * (1 - minLrRate) + minLrRate);
  };
}

export type WarmupType = 'linear' | 'cosine' | '1-sqrt';

export interface WsdOptions {
  numWarmupSteps: number;
  numStableSteps: number;
  numDecaySteps: number;
  warmupType?: WarmupType;
  decayType?: WarmupType;
  minLrRatio?: number;
  numCycles?: number;
}

/** `get_wsd_schedule` (warmup–stable–decay, Hu et al. 2024 "MiniCPM"). */
export function wsdLambda(o: WsdOptions): (step: number) => number {
  const { numWarmupSteps, numStableSteps, numDecaySteps } = o;
  const minLrRatio = o.minLrRatio ?? 0;
  const numCycles = o.numCycles ?? 0.5;
  const warmupType = o.warmupType ?? 'linear';
  const decayType = o.decayType ?? 'cosine';
  return (step) => {
    if (step < numWarmupSteps) {
      const p = step / Math.max(1, numWarmupSteps);
      const factor =
        warmupType === 'linear'
          ? p
          : warmupType === 'cosine'
            ? 0.5 * (1 - Math.cos(Math.PI * p))
            : 1 - Math.sqrt(1 - p);
      return Math.max(0, factor * (1 - minLrRatio) + minLrRatio);
    }
    if (step < numWarmupSteps + numStableSteps) return 1;
    if (step < numWarmupSteps + numStableSteps + numDecaySteps) {
      const p = (step - numWarmupSteps - numStableSteps) / Math.max(1, numDecaySteps);
      const factor =
        decayType === 'linear'
          ? 1 - p
          : decayType === 'cosine'
            ? 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * p))
            : 1 - Math.sqrt(p);
      return Math.max(0, factor * (1 - minLrRatio) + minLrRatio);
    }
    return minLrRatio;
  };
}
