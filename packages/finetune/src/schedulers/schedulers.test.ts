import { readFileSync } from 'node:fs';
import { ArgumentError, tensor } from '@polymodal/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdamW } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import { ChainedScheduler } from './chained-scheduler.js';
import { type GetSchedulerOptions, getScheduler, type SchedulerName } from './get-scheduler.js';
import { constantWithWarmupLambda } from './hf-schedules.js';
import { LambdaLR, type Scheduler } from './lr-scheduler.js';
import { MultiStepLR } from './multi-step-lr.js';
import { OneCycleLR, type OneCycleLROptions } from './one-cycle-lr.js';
import { ReduceLROnPlateau } from './reduce-lr-on-plateau.js';
import { SequentialLR } from './sequential-lr.js';
import { StepLR } from './step-lr.js';

interface Row {
  lr: number[];
  beta1?: number[];
  momentum?: number[];
}
interface Entry {
  kind: string;
  name?: string;
  optimizer?: 'SGD' | 'AdamW';
  options: Record<string, unknown>;
  metrics?: number[];
  trace: Row[];
}

// Goldens: scripts/make-fixtures.py — HF lambdas re-derived in Python run through torch's LambdaLR,
// and torch's own StepLR / MultiStepLR / OneCycleLR / SequentialLR / ChainedScheduler / ReduceLROnPlateau.
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/schedulers.json', import.meta.url), 'utf8'),
) as {
  baseLrs: number[];
  schedules: Entry[];
};

function makeOptimizer(kind: 'SGD' | 'AdamW' = 'AdamW'): Optimizer {
  const groups = [
    { params: [tensor([0, 0], { requiresGrad: true })], lr: fixture.baseLrs[0]! },
    { params: [tensor([0, 0, 0], { requiresGrad: true })], lr: fixture.baseLrs[1]! },
  ];
  return kind === 'SGD'
    ? new SGD(groups, { lr: fixture.baseLrs[0]!, momentum: 0.9 })
    : new AdamW(groups, { lr: fixture.baseLrs[0]! });
}

interface FixtureOptions {
  stepSize: number;
  gamma: number;
  gamma2: number;
  milestones: number[];
  warmup: number;
  patience: number;
  factor: number;
  cooldown: number;
  minLr: number;
}

function build(e: Entry, opt: Optimizer): Scheduler {
  const o = e.options as unknown as FixtureOptions;
  switch (e.kind) {
    case 'hf':
      return getScheduler(e.name as SchedulerName, opt, e.options as GetSchedulerOptions);
    case 'StepLR':
      return new StepLR(opt, { stepSize: o.stepSize, gamma: o.gamma });
    case 'MultiStepLR':
      return new MultiStepLR(opt, { milestones: o.milestones, gamma: o.gamma });
    case 'OneCycleLR':
      return new OneCycleLR(opt, e.options as unknown as OneCycleLROptions);
    case 'SequentialLR':
      return new SequentialLR(
        opt,
        [
          new LambdaLR(opt, constantWithWarmupLambda(o.warmup)),
          new StepLR(opt, { stepSize: o.stepSize, gamma: o.gamma }),
        ],
        o.milestones,
      );
    case 'ChainedScheduler':
      return new ChainedScheduler([
        new StepLR(opt, { stepSize: o.stepSize, gamma: o.gamma }),
        new MultiStepLR(opt, { milestones: o.milestones, gamma: o.gamma2 }),
      ]);
    default:
      return new ReduceLROnPlateau(opt, {
        patience: o.patience,
        factor: o.factor,
        cooldown: o.cooldown,
        minLr: o.minLr,
      });
  }
}

function expectClose(actual: number[], expected: number[], what: string): void {
  expected.forEach((v, i) => {
    expect(Math.abs(actual[i]! - v), `${what}[${i}]: ${actual[i]} vs ${v}`).toBeLessThanOrEqual(
      1e-12 + 1e-9 * Math.abs(v),
    );
  });
}

describe('schedulers vs PyTorch / Hugging Face fixtures', () => {
  fixture.schedules.forEach((e, n) => {
    it(`${n}: ${e.name ?? e.kind} ${JSON.stringify(e.options)}`, () => {
      const opt = makeOptimizer(e.optimizer);
      const sched = build(e, opt);
      e.trace.forEach((row, step) => {
        if (step > 0) sched.step(e.metrics?.[step - 1]);
        const lrs = opt.paramGroups.map((g) => g.lr);
        expectClose(lrs, row.lr, `step ${step} lr`);
        expectClose(sched.getLastLr(), row.lr, `step ${step} getLastLr`);
        const groups = opt.paramGroups as unknown as Record<string, unknown>[];
        if (row.beta1 && e.kind === 'OneCycleLR')
          expectClose(
            groups.map((g) => (g.betas as number[])[0]!),
            row.beta1,
            `step ${step} beta1`,
          );
        if (row.momentum && e.kind === 'OneCycleLR')
          expectClose(
            groups.map((g) => g.momentum as number),
            row.momentum,
            `step ${step} momentum`,
          );
      });
    });
  });
});

describe('scheduler state and errors', () => {
  it('stateDict/loadStateDict resumes a schedule exactly', () => {
    const optA = makeOptimizer();
    const a = getScheduler('cosine', optA, { numWarmupSteps: 3, numTrainingSteps: 12 });
    for (let i = 0; i < 5; i++) a.step();
    const sd = JSON.parse(JSON.stringify(a.stateDict()));
    const optB = makeOptimizer();
    const b = getScheduler('cosine', optB, { numWarmupSteps: 3, numTrainingSteps: 12 });
    b.loadStateDict(sd);
    for (let i = 0; i < 4; i++) {
      a.step();
      b.step();
      expect(b.getLastLr()).toEqual(a.getLastLr());
    }
    const plateau = new ReduceLROnPlateau(makeOptimizer());
    plateau.loadStateDict(JSON.parse(JSON.stringify(plateau.stateDict())));
    expect(plateau.best).toBe(Infinity);
  });

  it('keeps the per-group lr ratios (layer-wise decay survives scheduling)', () => {
    const opt = makeOptimizer();
    const s = getScheduler('linear', opt, { numWarmupSteps: 2, numTrainingSteps: 10 });
    for (let i = 0; i < 4; i++) {
      s.step();
      const [a, b] = s.getLastLr();
      expect(b! / a!).toBeCloseTo(0.1, 12);
    }
  });

  it('rejects unknown names, warmup longer than training, missing counts and negative lr', () => {
    const opt = makeOptimizer();
    expect(() => getScheduler('cosine_annealing', opt)).toThrow(ArgumentError);
    expect(() => getScheduler('cosine_annealing', opt)).toThrow(/unknown scheduler 'cosine_annealing'/);
    expect(() => getScheduler('linear', opt, { numWarmupSteps: 20, numTrainingSteps: 10 })).toThrow(
      /longer than/,
    );
    expect(() => getScheduler('cosine', opt, { numWarmupSteps: 2 })).toThrow(/requires numTrainingSteps/);
    expect(() => getScheduler('linear', opt, { numTrainingSteps: 10 })).toThrow(/requires numWarmupSteps/);
    expect(() => getScheduler('cosine_with_min_lr', opt, { numWarmupSteps: 1, numTrainingSteps: 5 })).toThrow(
      /exactly one of minLr/,
    );
    expect(() =>
      getScheduler('warmup_stable_decay', opt, { numWarmupSteps: 5, numDecaySteps: 8, numTrainingSteps: 10 }),
    ).toThrow(/exceed/);
    opt.paramGroups[0]!.lr = -0.1;
    expect(() => getScheduler('constant', opt)).toThrow(/negative lr/);
    const opt2 = makeOptimizer();
    expect(() => new LambdaLR(opt2, () => -1)).toThrow(ArgumentError);
    expect(() => new OneCycleLR(makeOptimizer(), { maxLr: 0.1 })).toThrow(/totalSteps/);
    const oc = new OneCycleLR(makeOptimizer(), { maxLr: 0.1, totalSteps: 2 });
    oc.step();
    oc.step();
    expect(() => oc.step()).toThrow(/tried to step 3 times/);
  });
});

describe('scheduler properties (fast-check)', () => {
  const names = [
    'linear',
    'cosine',
    'cosine_with_restarts',
    'polynomial',
    'constant',
    'constant_with_warmup',
    'inverse_sqrt',
  ] as const;
  it('every HF schedule stays within [0, base lr] and resumes exactly from its stateDict', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 40 }),
        (name, warmup, extra, split) => {
          const options = { numWarmupSteps: warmup, numTrainingSteps: warmup + extra };
          const a = getScheduler(name, makeOptimizer(), options);
          for (let i = 0; i < split; i++) {
            a.step();
            a.getLastLr().forEach((lr, g) => {
              expect(lr).toBeGreaterThanOrEqual(0);
              expect(lr).toBeLessThanOrEqual(fixture.baseLrs[g]! * (1 + 1e-12));
            });
          }
          const b = getScheduler(name, makeOptimizer(), options);
          b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
          for (let i = 0; i < 5; i++) {
            a.step();
            b.step();
            expect(b.getLastLr()).toEqual(a.getLastLr());
          }
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });
});
