import { ArgumentError } from '@polymodal/tensor';
import type { Optimizer } from '../optim/optimizer.js';

/** What every scheduler saves: JSON-serialisable numbers (and nested scheduler states). */
export type SchedulerStateDict = Record<string, unknown>;

/** The common surface of all schedulers (including `ReduceLROnPlateau`, whose `step` takes a metric). */
export interface Scheduler {
  readonly optimizer: Optimizer;
  step(metric?: number): void;
  getLastLr(): number[];
  stateDict(): SchedulerStateDict;
  loadStateDict(sd: SchedulerStateDict): void;
}

/**
 * Base of epoch/step-indexed schedulers with PyTorch's contract (`torch.optim.lr_scheduler.LRScheduler`):
 * construction records `initialLr` in each group and performs the initial `step()` (so
 * `lastEpoch` is 0 afterwards); each `step()` advances `lastEpoch` and writes the new lr into
 * every group. Subclasses implement `getLr()` (the chainable form that may read the current
 * group lr) and optionally `closedFormLr()` (used by `step(epoch)`), and call `initialStep()` at
 * the end of their constructor.
 *
 * ```ts
 * const sched = new StepLR(opt, { stepSize: 10, gamma: 0.5 });
 * for (...) { opt.step(); sched.step(); }
 * sched.getLastLr(); // [lr of each group]
 * ```
 */
export abstract class LRScheduler implements Scheduler {
  lastEpoch: number;
  readonly baseLrs: number[];
  protected lastLr: number[] = [];

  constructor(
    readonly optimizer: Optimizer,
    lastEpoch = -1,
  ) {
    if (lastEpoch === -1) {
      for (const g of optimizer.paramGroups) g.initialLr ??= g.lr;
    } else {
      optimizer.paramGroups.forEach((g, i) => {
        if (g.initialLr === undefined)
          throw new ArgumentError(
            'LRScheduler',
            `param group ${i} has no initialLr; cannot resume at lastEpoch ${lastEpoch}`,
          );
      });
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The first `step()`, done by constructors once the subclass's fields exist. */
  initialStep(): void {
    this.step();
  }

  /** The lr of each group at `lastEpoch` (may read the groups' current lr). */
  abstract getLr(): number[];

  /** The lr at `lastEpoch` from the base lrs alone, where a closed form exists. */
  closedFormLr(): number[] | null {
    return null;
  }

  /** Advances one step (or jumps to `epoch`, using the closed form when there is one). */
  step(epoch?: number): void {
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      const lr = values[i]!;
      if (!Number.isFinite(lr) || lr < 0)
        throw new ArgumentError(
          this.constructor.name,
          `computed lr ${lr} for group ${i} is negative or not finite`,
        );
      g.lr = lr;
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The lr of each group set by the last `step()`. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    this.lastEpoch = sd.lastEpoch as number;
    this.baseLrs.splice(0, this.baseLrs.length, ...(sd.baseLrs as number[]));
    this.lastLr = [...(sd.lastLr as number[])];
  }
}

/**
 * `lr = baseLr · lrLambda(lastEpoch)` per group (`torch.optim.lr_scheduler.LambdaLR`); one lambda
 * for all groups or one per group. The lambdas are not saved by `stateDict`.
 *
 * ```ts
 * const sched = new LambdaLR(opt, (step) => Math.min(1, step / 100));
 * ```
 */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: ((step: number) => number)[];

  constructor(
    optimizer: Optimizer,
    lrLambda: ((step: number) => number) | ((step: number) => number)[],
    lastEpoch = -1,
  ) {
    super(optimizer, lastEpoch);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda) && lrLambda.length !== n)
      throw new ArgumentError('LambdaLR', `expected ${n} lambdas (one per group), got ${lrLambda.length}`);
    this.lambdas = Array.isArray(lrLambda) ? lrLambda : Array.from({ length: n }, () => lrLambda);
    this.initialStep();
  }

  getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lambdas[i]!(this.lastEpoch));
  }
}
