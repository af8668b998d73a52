import { ArgumentError } from '@polymodal/tensor';
import type { Optimizer } from '../optim/optimizer.js';
import {
  constantWithWarmupLambda,
  cosineLambda,
  cosineWithMinLrLambda,
  cosineWithRestartsLambda,
  inverseSqrtLambda,
  linearLambda,
  polynomialLambda,
  type WarmupType,
  wsdLambda,
} from './hf-schedules.js';
import { LambdaLR, type LRScheduler } from './lr-scheduler.js';
import { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './reduce-lr-on-plateau.js';

/** Hugging Face's `SchedulerType` names. */
export const SCHEDULER_NAMES = [
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'constant',
  'constant_with_warmup',
  'inverse_sqrt',
  'reduce_lr_on_plateau',
  'cosine_with_min_lr',
  'warmup_stable_decay',
] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export interface GetSchedulerOptions {
  numWarmupSteps?: number;
  numTrainingSteps?: number;
  /** cosine: 0.5 (a half-cosine); cosine_with_restarts: 1. */
  numCycles?: number;
  /** polynomial: final lr (default 1e-7) and power (default 1). */
  lrEnd?: number;
  power?: number;
  /** inverse_sqrt: defaults to numWarmupSteps (or 10 000 without warmup). */
  timescale?: number;
  /** cosine_with_min_lr: give exactly one of minLr and minLrRate (= minLr / base lr). */
  minLr?: number;
  minLrRate?: number;
  /** warmup_stable_decay: decay length (required); stable length defaults to training − warmup − decay. */
  numDecaySteps?: number;
  numStableSteps?: number;
  warmupType?: WarmupType;
  decayType?: WarmupType;
  minLrRatio?: number;
  /** reduce_lr_on_plateau options. */
  plateau?: ReduceLROnPlateauOptions;
  lastEpoch?: number;
}

function count(name: string, field: string, v: number | undefined, required: boolean): number {
  if (v === undefined) {
    if (required) throw new ArgumentError('getScheduler', `'${name}' requires ${field}`);
    return 0;
  }
  if (!Number.isInteger(v) || v < 0)
    throw new ArgumentError('getScheduler', `${field} must be an integer ≥ 0, got ${v}`);
  return v;
}

/**
 * Hugging Face's `get_scheduler`: one factory for the usual fine-tuning schedules by name. Each
 * (except `reduce_lr_on_plateau`) is a `LambdaLR` over the multipliers in `hf-schedules.ts`;
 * step it after every optimizer step.
 *
 * ```ts
 * const sched = getScheduler('cosine', optimizer, { numWarmupSteps: 100, numTrainingSteps: 1000 });
 * for (const batch of batches) { ...; optimizer.step(); sched.step(); }
 * ```
 */
export function getScheduler(
  name: 'reduce_lr_on_plateau',
  optimizer: Optimizer,
  options?: GetSchedulerOptions,
): ReduceLROnPlateau;
export function getScheduler(
  name: Exclude<SchedulerName, 'reduce_lr_on_plateau'>,
  optimizer: Optimizer,
  options?: GetSchedulerOptions,
): LRScheduler;
export function getScheduler(
  name: string,
  optimizer: Optimizer,
  options?: GetSchedulerOptions,
): LRScheduler | ReduceLROnPlateau;
export function getScheduler(
  name: string,
  optimizer: Optimizer,
  options: GetSchedulerOptions = {},
): LRScheduler | ReduceLROnPlateau {
  if (!(SCHEDULER_NAMES as readonly string[]).includes(name))
    throw new ArgumentError(
      'getScheduler',
      `unknown scheduler '${name}'; expected one of ${SCHEDULER_NAMES.join(', ')}`,
    );
  optimizer.paramGroups.forEach((g, i) => {
    if (!(g.lr >= 0)) throw new ArgumentError('getScheduler', `param group ${i} has a negative lr ${g.lr}`);
  });
  if (name === 'reduce_lr_on_plateau') return new ReduceLROnPlateau(optimizer, options.plateau);
  const lastEpoch = options.lastEpoch ?? -1;
  if (name === 'constant') return new LambdaLR(optimizer, () => 1, lastEpoch);
  const warm = count(name, 'numWarmupSteps', options.numWarmupSteps, name !== 'warmup_stable_decay');
  if (name === 'constant_with_warmup')
    return new LambdaLR(optimizer, constantWithWarmupLambda(warm), lastEpoch);
  if (name === 'inverse_sqrt') {
    if (options.timescale !== undefined && !(options.timescale > 0))
      throw new ArgumentError('getScheduler', `timescale must be > 0, got ${options.timescale}`);
    return new LambdaLR(optimizer, inverseSqrtLambda(warm, options.timescale), lastEpoch);
  }
  if (name === 'warmup_stable_decay') {
    const decay = count(name, 'numDecaySteps', options.numDecaySteps, true);
    let stable: number;
    if (options.numStableSteps !== undefined)
      stable = count(name, 'numStableSteps', options.numStableSteps, true);
    else {
      const total = count(name, 'numTrainingSteps (or numStableSteps)', options.numTrainingSteps, true);
      stable = total - warm - decay;
      if (stable < 0)
        throw new ArgumentError(
          'getScheduler',
          `warmup (${warm}) + decay (${decay}) steps exceed numTrainingSteps (${total})`,
        );
    }
    const opts = { numWarmupSteps: warm, numStableSteps: stable, numDecaySteps: decay };
    return new LambdaLR(
      optimizer,
      wsdLambda({
        ...opts,
        ...(options.warmupType && { warmupType: options.warmupType }),
        ...(options.decayType && { decayType: options.decayType }),
        ...(options.minLrRatio !== undefined && { minLrRatio: options.minLrRatio }),
        ...(options.numCycles !== undefined && { numCycles: options.numCycles }),
      }),
      lastEpoch,
    );
  }
  const total = count(name, 'numTrainingSteps', options.numTrainingSteps, true);
  if (warm > total)
    throw new ArgumentError(
      'getScheduler',
      `numWarmupSteps (${warm}) is longer than numTrainingSteps (${total})`,
    );
  switch (name) {
    case 'linear':
      return new LambdaLR(optimizer, linearLambda(warm, total), lastEpoch);
    case 'cosine':
      return new LambdaLR(optimizer, cosineLambda(warm, total, options.numCycles ?? 0.5), lastEpoch);
    case 'cosine_with_restarts':
      return new LambdaLR(
        optimizer,
        cosineWithRestartsLambda(warm, total, options.numCycles ?? 1),
        lastEpoch,
      );
    case 'polynomial': {
      const lrInit = optimizer.defaults.lr;
      const lrEnd = options.lrEnd ?? 1e-7;
      if (!(lrInit > lrEnd))
        throw new ArgumentError(
          'getScheduler',
          `lrEnd (${lrEnd}) must be smaller than the initial lr (${lrInit})`,
        );
      return new LambdaLR(
        optimizer,
        polynomialLambda(warm, total, lrInit, lrEnd, options.power ?? 1),
        lastEpoch,
      );
    }
    default: {
      // cosine_with_min_lr
      const { minLr, minLrRate } = options;
      if ((minLr === undefined) === (minLrRate === undefined))
        throw new ArgumentError(
          'getScheduler',
          "'cosine_with_min_lr' needs exactly one of minLr and minLrRate",
        );
      const rate = minLr !== undefined ? minLr / optimizer.defaults.lr : (minLrRate as number);
      if (!(rate >= 0)) throw new ArgumentError('getScheduler', `minLr must be ≥ 0, got rate ${rate}`);
      return new LambdaLR(
        optimizer,
        cosineWithMinLrLambda(warm, total, rate, options.numCycles ?? 0.5),
        lastEpoch,
      );
    }
  }
}
