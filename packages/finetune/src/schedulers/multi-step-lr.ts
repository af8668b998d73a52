import { ArgumentError } from '@polymodal/tensor';
import type { Optimizer } from '../optim/optimizer.js';
import { LRScheduler } from './lr-scheduler.js';

/**
 * Multiplies the lr by `gamma` at each milestone (a milestone listed twice multiplies twice),
 * like `torch.optim.lr_scheduler.MultiStepLR`.
 *
 * ```ts
 * const sched = new MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 });
 * ```
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { milestones: number[]; gamma?: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch ?? -1);
    if (options.milestones.some((m) => !Number.isInteger(m) || m < 0))
      throw new ArgumentError('MultiStepLR', `milestones must be integers ≥ 0, got [${options.milestones}]`);
    this.milestones = [...options.milestones].sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }

  getLr(): number[] {
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    return this.optimizer.paramGroups.map((g) => (count === 0 ? g.lr : g.lr * this.gamma ** count));
  }

  override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}
