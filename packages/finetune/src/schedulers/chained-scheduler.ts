import { ArgumentError } from '@polymodal/tensor';
import type { Optimizer } from '../optim/optimizer.js';
import type { LRScheduler, Scheduler, SchedulerStateDict } from './lr-scheduler.js';

/**
 * Steps several chainable schedulers together so that their effects multiply
 * (`torch.optim.lr_scheduler.ChainedScheduler`).
 *
 * ```ts
 * const sched = new ChainedScheduler([new StepLR(opt, { stepSize: 3 }), new MultiStepLR(opt, { milestones: [10] })]);
 * ```
 */
export class ChainedScheduler implements Scheduler {
  readonly optimizer: Optimizer;
  private lastLr: number[];

  constructor(
    readonly schedulers: LRScheduler[],
    optimizer?: Optimizer,
  ) {
    if (schedulers.length === 0) throw new ArgumentError('ChainedScheduler', 'needs at least one scheduler');
    this.optimizer = optimizer ?? schedulers[0]!.optimizer;
    schedulers.forEach((s, i) => {
      if (s.optimizer !== this.optimizer)
        throw new ArgumentError('ChainedScheduler', `scheduler ${i} is bound to a different optimizer`);
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { lastLr: [...this.lastLr], schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    this.lastLr = [...(sd.lastLr as number[])];
    (sd.schedulers as SchedulerStateDict[]).forEach((s, i) => {
      this.schedulers[i]?.loadStateDict(s);
    });
  }
}
