import { ArgumentError } from '@polymodal/tensor';
import type { Optimizer } from '../optim/optimizer.js';
import type { LRScheduler, Scheduler, SchedulerStateDict } from './lr-scheduler.js';

/**
 * Runs `schedulers[i]` between `milestones[i-1]` and `milestones[i]`, restarting each one from
 * step 0 when its turn comes (`torch.optim.lr_scheduler.SequentialLR`). Typical use: a warmup
 * then a decay.
 *
 * ```ts
 * const warmup = new LambdaLR(opt, (s) => Math.min(1, (s + 1) / 100));
 * const decay = new StepLR(opt, { stepSize: 1000, gamma: 0.5 });
 * const sched = new SequentialLR(opt, [warmup, decay], [100]);
 * ```
 */
export class SequentialLR implements Scheduler {
  lastEpoch: number;
  private lastLr: number[];

  constructor(
    readonly optimizer: Optimizer,
    readonly schedulers: LRScheduler[],
    readonly milestones: number[],
    lastEpoch = -1,
  ) {
    if (schedulers.length === 0) throw new ArgumentError('SequentialLR', 'needs at least one scheduler');
    if (milestones.length !== schedulers.length - 1)
      throw new ArgumentError(
        'SequentialLR',
        `expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${milestones.length}`,
      );
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer)
        throw new ArgumentError('SequentialLR', `scheduler ${i} is bound to a different optimizer`);
    });
    this.lastEpoch = lastEpoch + 1;
    // Undo the initial steps the schedulers took, then start the first one.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr ?? g.lr;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0]!.initialStep();
    this.lastLr = schedulers[0]!.getLastLr();
  }

  step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx]! <= this.lastEpoch) idx++;
    const scheduler = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return {
      lastEpoch: this.lastEpoch,
      lastLr: [...this.lastLr],
      schedulers: this.schedulers.map((s) => s.stateDict()),
    };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    this.lastEpoch = sd.lastEpoch as number;
    this.lastLr = [...(sd.lastLr as number[])];
    (sd.schedulers as SchedulerStateDict[]).forEach((s, i) => {
      this.schedulers[i]?.loadStateDict(s);
    });
  }
}
