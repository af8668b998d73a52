import { Linear } from '@polymodal/nn';
import { ArgumentError, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { createOptimizer, resolveWarmup } from './training-setup.js';

describe('resolveWarmup', () => {
  it('scales a ratio with the run and shrinks fixed warmups that do not fit', () => {
    expect(resolveWarmup(400, { ratio: 0.1 })).toEqual({ warmupSteps: 40, note: null });
    expect(resolveWarmup(20, { ratio: 0.1 })).toEqual({ warmupSteps: 2, note: null });
    expect(resolveWarmup(400, { steps: 50 })).toEqual({ warmupSteps: 50, note: null });
    const shrunk = resolveWarmup(20, { steps: 50 });
    expect(shrunk.warmupSteps).toBe(2);
    expect(shrunk.note).toMatch(/warmup of 50 steps does not fit a 20-step run/);
    expect(resolveWarmup(50, { steps: 50 }).warmupSteps).toBe(5);
    expect(resolveWarmup(1, { steps: 50 }).warmupSteps).toBe(0);
    expect(resolveWarmup(1, { ratio: 0.5 }).warmupSteps).toBe(0);
    expect(() => resolveWarmup(0, { ratio: 0.1 })).toThrow(ArgumentError);
    expect(() => resolveWarmup(10, { ratio: 1 })).toThrow(/ratio must be in \[0, 1\)/);
  });
});

describe('createOptimizer', () => {
  it('follows warmup + cosine (Hugging Face formula) and keeps biases out of weight decay', () => {
    const model = new Linear(3, 2, { seed: 0 });
    const { optimizer, scheduler, warmupSteps } = createOptimizer(model.namedParameters(), {
      lr: 1e-2,
      weightDecay: 0.1,
      steps: 10,
      warmup: { ratio: 0.2 },
    });
    expect(warmupSteps).toBe(2);
    expect(optimizer.paramGroups.map((g) => g.weightDecay)).toEqual([0.1, 0]);
    // get_cosine_schedule_with_warmup: s/w during warmup, then ½(1 + cos(π·(s−w)/(T−w))).
    const expected = (s: number) => (s < 2 ? s / 2 : 0.5 * (1 + Math.cos((Math.PI * (s - 2)) / 8)));
    for (let s = 0; s < 10; s++) {
      expect(optimizer.paramGroups[0]!.lr).toBeCloseTo(1e-2 * expected(s), 12);
      optimizer.step();
      scheduler.step();
    }
  });

  it('runs a one-step run at the peak rate', () => {
    const model = new Linear(2, 1, { seed: 1 });
    const before = model.weight.dataSync().slice();
    const { optimizer, notes } = createOptimizer(model.namedParameters(), {
      lr: 0.1,
      weightDecay: 0,
      steps: 1,
      warmup: { steps: 50 },
    });
    expect(notes).toHaveLength(1);
    expect(optimizer.paramGroups[0]!.lr).toBe(0.1);
    model
      .forward(tensor([[1, 2]]))
      .sum()
      .backward();
    optimizer.step();
    // Adam's first step moves every weight with a gradient by lr in the gradient's sign.
    const after = model.weight.dataSync();
    expect(Math.abs(after[0]! - before[0]!)).toBeCloseTo(0.1, 4);
  });
});
