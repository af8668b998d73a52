import {
  AdamW,
  getScheduler,
  type LRScheduler,
  paramGroupsWithWeightDecay,
  type SchedulerName,
} from '@polymodal/finetune';
import type { Tensor } from '@polymodal/tensor';
import { ArgumentError, checkInRange, checkPositiveInt } from '@polymodal/tensor';

/** A warmup given as steps, or as a fraction of the run (Hugging Face's `warmup_ratio`). */
export type WarmupSpec = { steps: number } | { ratio: number };

/**
 * Warmup steps for a run of `steps`: a ratio scales with the run (`round(ratio · steps)`); fixed
 * steps that do not fit (≥ `steps`) shrink to 10 % of the run, with a note saying so. Always in
 * [0, steps − 1], so `--steps 1` works (no warmup: the one step runs at the peak rate).
 *
 * ```ts
 * resolveWarmup(400, { ratio: 0.1 }); // { warmupSteps: 40, note: null }
 * resolveWarmup(20, { steps: 50 });   // { warmupSteps: 2, note: 'warmup of 50 steps does not fit …' }
 * ```
 */
export function resolveWarmup(
  steps: number,
  warmup: WarmupSpec,
): { warmupSteps: number; note: string | null } {
  checkPositiveInt('resolveWarmup', 'steps', steps);
  if ('ratio' in warmup) {
    checkInRange('resolveWarmup', 'warmup ratio', warmup.ratio, 0, 1, '[)');
    return { warmupSteps: Math.min(steps - 1, Math.round(warmup.ratio * steps)), note: null };
  }
  if (!Number.isInteger(warmup.steps) || warmup.steps < 0) {
    throw new ArgumentError(
      'resolveWarmup',
      `warmup steps must be a non-negative integer, got ${warmup.steps}`,
    );
  }
  if (warmup.steps < steps) return { warmupSteps: warmup.steps, note: null };
  const shrunk = Math.floor(steps / 10);
  return {
    warmupSteps: shrunk,
    note: `warmup of ${warmup.steps} steps does not fit a ${steps}-step run: warming up for ${shrunk} (10 %) instead`,
  };
}

export interface OptimizerSetupOptions {
  /** Peak learning rate. */
  lr: number;
  weightDecay: number;
  /** Optimizer steps of the run (the schedule's length). */
  steps: number;
  warmup: WarmupSpec;
  /** A Hugging Face schedule name. Default `cosine`. */
  schedule?: SchedulerName;
  betas?: [number, number];
  eps?: number;
}

export interface OptimizerSetup {
  optimizer: AdamW;
  scheduler: LRScheduler;
  warmupSteps: number;
  /** Things the user should know (a shrunk warmup). */
  notes: string[];
}

/**
 * AdamW over a model's parameters (biases and norm weights without weight decay, as
 * `paramGroupsWithWeightDecay` splits them) with a warmup + schedule of the run's length: the
 * wiring every app repeats.
 *
 * ```ts
 * const { optimizer, scheduler, notes } = createOptimizer(model.namedParameters(), {
 *   lr: 2e-3, weightDecay: 0.05, steps: 400, warmup: { ratio: 0.1 },
 * });
 * notes.forEach(log);
 * ```
 */
export function createOptimizer(
  namedParameters: Iterable<[string, Tensor]>,
  options: OptimizerSetupOptions,
): OptimizerSetup {
  const { warmupSteps, note } = resolveWarmup(options.steps, options.warmup);
  const optimizer = new AdamW(
    paramGroupsWithWeightDecay(namedParameters, { weightDecay: options.weightDecay }),
    {
      lr: options.lr,
      ...(options.betas ? { betas: options.betas } : {}),
      ...(options.eps !== undefined ? { eps: options.eps } : {}),
    },
  );
  const scheduler = getScheduler(options.schedule ?? 'cosine', optimizer, {
    numWarmupSteps: warmupSteps,
    numTrainingSteps: options.steps,
  }) as LRScheduler;
  return { optimizer, scheduler, warmupSteps, notes: note ? [note] : [] };
}
