import { ArgumentError, checkPositiveInt } from '@polymodal/tensor';
import type { Optimizer } from '../optim/optimizer.js';
import { LRScheduler, type SchedulerStateDict } from './lr-scheduler.js';

export interface OneCycleLROptions {
  /** Peak lr, one for all groups or one per group. */
  maxLr: number | number[];
  /** Total number of steps; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's `momentum` or Adam's β1) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  /** initial lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Use fast.ai's three phases (up, down to initial, annihilate) instead of two. */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: 'initialLr' | 'maxLr' | 'minLr';
  endLr: 'initialLr' | 'maxLr' | 'minLr';
  startMomentum: 'maxMomentum' | 'baseMomentum';
  endMomentum: 'maxMomentum' | 'baseMomentum';
}

/**
 * The 1cycle policy (Smith & Topin 2017, "Super-Convergence"), like
 * `torch.optim.lr_scheduler.OneCycleLR`: lr rises from maxLr/divFactor to maxLr over
 * `pctStart` of the steps, then anneals to initial/finalDivFactor; momentum moves the opposite way.
 * Step it after every batch.
 *
 * ```ts
 * const sched = new OneCycleLR(opt, { maxLr: 0.01, totalSteps: 1000 });
 * ```
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly phases: Phase[];
  private readonly anneal: (start: number, end: number, pct: number) => number;
  private readonly cycleMomentum: boolean;
  private readonly useBeta1: boolean;
  private readonly groupValues: Record<
    'initialLr' | 'maxLr' | 'minLr' | 'maxMomentum' | 'baseMomentum',
    number
  >[];

  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    const totalSteps = resolveTotalSteps(options);
    const n = optimizer.paramGroups.length;
    const maxLrs = Array.isArray(options.maxLr)
      ? options.maxLr
      : Array.from({ length: n }, () => options.maxLr as number);
    if (maxLrs.length !== n)
      throw new ArgumentError(
        'OneCycleLR',
        `expected ${n} maxLr values (one per group), got ${maxLrs.length}`,
      );
    if (maxLrs.some((v) => !(v >= 0)))
      throw new ArgumentError('OneCycleLR', `maxLr must be ≥ 0, got [${maxLrs}]`);
    const pctStart = options.pctStart ?? 0.3;
    if (!(pctStart >= 0 && pctStart <= 1))
      throw new ArgumentError('OneCycleLR', `pctStart must lie in [0, 1], got ${pctStart}`);
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    const lastEpoch = options.lastEpoch ?? -1;
    const values = maxLrs.map((maxLr) => {
      const initialLr = maxLr / divFactor;
      return {
        initialLr,
        maxLr,
        minLr: initialLr / finalDivFactor,
        maxMomentum: options.maxMomentum ?? 0.95,
        baseMomentum: options.baseMomentum ?? 0.85,
      };
    });
    // PyTorch overwrites initial_lr (and lr) with maxLr/divFactor when starting fresh.
    if (lastEpoch === -1)
      optimizer.paramGroups.forEach((g, i) => {
        g.initialLr = values[i]!.initialLr;
        g.lr = values[i]!.initialLr;
      });
    super(optimizer, lastEpoch);
    this.totalSteps = totalSteps;
    this.groupValues = values;
    this.phases = options.threePhase
      ? [
          {
            endStep: pctStart * totalSteps - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: 2 * pctStart * totalSteps - 2,
            startLr: 'maxLr',
            endLr: 'initialLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
          {
            endStep: totalSteps - 1,
            startLr: 'initialLr',
            endLr: 'minLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'maxMomentum',
          },
        ]
      : [
          {
            endStep: pctStart * totalSteps - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: totalSteps - 1,
            startLr: 'maxLr',
            endLr: 'minLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
        ];
    const strategy = options.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear')
      throw new ArgumentError('OneCycleLR', `annealStrategy must be 'cos' or 'linear', got '${strategy}'`);
    this.anneal = strategy === 'cos' ? annealCos : annealLinear;
    this.cycleMomentum = options.cycleMomentum ?? true;
    const first = optimizer.paramGroups[0] as unknown as Record<string, unknown>;
    this.useBeta1 = 'betas' in first;
    if (this.cycleMomentum) {
      if (!('momentum' in first) && !this.useBeta1)
        throw new ArgumentError('OneCycleLR', 'cycleMomentum needs an optimizer with momentum or betas');
      if (lastEpoch === -1)
        optimizer.paramGroups.forEach((_g, i) => this.setMomentum(i, values[i]!.maxMomentum));
    }
    this.initialStep();
  }

  private setMomentum(i: number, m: number): void {
    const g = this.optimizer.paramGroups[i] as unknown as Record<string, unknown>;
    if (this.useBeta1) {
      const betas = g.betas as [number, number];
      g.betas = [m, betas[1]];
    } else g.momentum = m;
  }

  getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps)
      throw new ArgumentError(
        'OneCycleLR',
        `tried to step ${stepNum} times; totalSteps is ${this.totalSteps}`,
      );
    return this.groupValues.map((v, gi) => {
      let startStep = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i]!;
        if (stepNum <= phase.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.endStep - startStep);
          if (this.cycleMomentum)
            this.setMomentum(gi, this.anneal(v[phase.startMomentum], v[phase.endMomentum], pct));
          return this.anneal(v[phase.startLr], v[phase.endLr], pct);
        }
        startStep = phase.endStep;
      }
      return v.minLr;
    });
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), totalSteps: this.totalSteps };
  }
}

function resolveTotalSteps(o: OneCycleLROptions): number {
  if (o.totalSteps !== undefined) {
    checkPositiveInt('OneCycleLR', 'totalSteps', o.totalSteps);
    return o.totalSteps;
  }
  if (o.epochs === undefined || o.stepsPerEpoch === undefined)
    throw new ArgumentError('OneCycleLR', 'give totalSteps, or both epochs and stepsPerEpoch');
  if (!(o.epochs > 0 && o.stepsPerEpoch > 0))
    throw new ArgumentError(
      'OneCycleLR',
      `epochs and stepsPerEpoch must be > 0, got ${o.epochs}, ${o.stepsPerEpoch}`,
    );
  return o.epochs * o.stepsPerEpoch;
}

function annealCos(start: number, end: number, pct: number): number {
  const cosOut = Math.cos(Math.PI * pct) + 1;
  return end + ((start - end) / 2) * cosOut;
}

function annealLinear(start: number, end: number, pct: number): number {
  return (end - start) * pct + start;
}
