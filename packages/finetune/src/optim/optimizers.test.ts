import { existsSync, readFileSync } from 'node:fs';
import { ArgumentError, memory, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { paramGroupsWithWeightDecay } from './param-groups.js';
import { SGD } from './sgd.js';

interface OptFixture {
  initial: Record<string, number[]>;
  shapes: Record<string, number[]>;
  grads: Record<string, number[]>[];
  configs: {
    name: string;
    kind: 'SGD' | 'Adam' | 'AdamW';
    groups: ({ params: string[] } & Record<string, unknown>)[];
    defaults: Record<string, unknown>;
    history: Record<string, number[]>[];
  }[];
}

const FIXTURE = new URL('../../fixtures/optimizers.json', import.meta.url);

function camel(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()), v]),
  );
}

function closeTo(actual: ArrayLike<number>, expected: number[], rel = 1e-5, abs = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = abs + rel * Math.abs(expected[i]!);
    expect(
      Math.abs(actual[i]! - expected[i]!),
      `index ${i}: ${actual[i]} vs ${expected[i]}`,
    ).toBeLessThanOrEqual(tol);
  }
}

describe('optimizers vs PyTorch fixtures (scripts/make-fixtures.py, torch.optim foreach=False)', () => {
  const fx: OptFixture | null = existsSync(FIXTURE) ? JSON.parse(readFileSync(FIXTURE, 'utf8')) : null;
  it('has the fixture file', () => {
    expect(fx).not.toBeNull();
  });
  for (const cfg of fx?.configs ?? []) {
    it(`${cfg.name}: 5 steps equal torch within 1e-5 relative`, () => {
      const f = fx as OptFixture;
      const params: Record<string, Tensor> = {};
      for (const [n, v] of Object.entries(f.initial))
        params[n] = tensor(new Float32Array(v), { shape: f.shapes[n]!, requiresGrad: true });
      const groups = cfg.groups.map(({ params: names, ...rest }) => ({
        ...camel(rest),
        params: names.map((n) => params[n]!),
      }));
      const defaults = camel(cfg.defaults);
      const opt: Optimizer =
        cfg.kind === 'SGD'
          ? new SGD(groups, defaults)
          : cfg.kind === 'Adam'
            ? new Adam(groups, defaults)
            : new AdamW(groups, defaults);
      cfg.history.forEach((expected, step) => {
        for (const [n, p] of Object.entries(params)) {
          p.zeroGrad();
          p.grad = tensor(new Float32Array(f.grads[step]![n]!), { shape: p.shape });
        }
        opt.step();
        for (const [n, p] of Object.entries(params)) closeTo(p.dataSync(), expected[n]!);
      });
    });
  }
});

describe('optimizers: hand-computed steps', () => {
  const setup = () => {
    const p = tensor([1, 2], { requiresGrad: true });
    p.grad = tensor([0.5, -1]);
    return p;
  };

  it('SGD: p − lr·g', () => {
    const p = setup();
    new SGD([p], { lr: 0.1 }).step();
    closeTo(p.dataSync(), [0.95, 2.1]);
  });

  it('SGD momentum: second step uses buf = μ·g + g', () => {
    const p = setup();
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    opt.step(); // buf = g → p = [0.95, 2.1]
    opt.step(); // buf = 0.9g + g = 1.9g → p −= 0.19·g
    closeTo(p.dataSync(), [0.95 - 0.095, 2.1 + 0.19]);
  });

  it('Adam first step moves each weight by lr·sign(g) (m̂/√v̂ = g/|g|)', () => {
    const p = setup();
    new Adam([p], { lr: 0.01 }).step();
    closeTo(p.dataSync(), [0.99, 2.01]);
  });

  it('AdamW decays weights before the Adam step: p·(1 − lr·wd) − lr·sign(g)', () => {
    const p = setup();
    new AdamW([p], { lr: 0.01, weightDecay: 0.5 }).step();
    closeTo(p.dataSync(), [1 * 0.995 - 0.01, 2 * 0.995 + 0.01]);
  });

  it('skips params without a gradient and zeroGrad clears grads', () => {
    const p = setup();
    const q = tensor([3], { requiresGrad: true });
    const opt = new Adam([p, q]);
    opt.step();
    expect(q.dataSync()[0]).toBe(3);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
  });

  it('a step leaks no tensors', () => {
    const p = setup();
    for (const opt of [
      new SGD([p], { momentum: 0.9, nesterov: true, weightDecay: 0.1 }),
      new AdamW([p], { amsgrad: true }),
    ]) {
      opt.step();
      const before = memory().tensors;
      for (let i = 0; i < 5; i++) opt.step();
      expect(memory().tensors).toBe(before);
    }
  });
});

describe('optimizer state and groups', () => {
  it('stateDict/loadStateDict resumes exactly (PyTorch layout)', () => {
    const make = () => [
      tensor([1, -2, 3], { requiresGrad: true }),
      tensor([[0.5, 0.25]], { requiresGrad: true }),
    ];
    const grads = (step: number) => [tensor([step, 1, -step]), tensor([[0.1 * step, -0.3]])];
    const a = make();
    const optA = new AdamW([{ params: [a[0]!] }, { params: [a[1]!], lr: 0.05 }], { lr: 0.01, amsgrad: true });
    const run = (ps: Tensor[], opt: Optimizer, from: number, to: number) => {
      for (let s = from; s < to; s++) {
        const g = grads(s);
        ps.forEach((p, i) => {
          p.grad = g[i]!;
        });
        opt.step();
      }
    };
    run(a, optA, 1, 4);
    const sd = optA.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '1']);
    expect(sd.paramGroups.map((g) => g.params)).toEqual([[0], [1]]);
    expect(sd.state[0]!.step).toBe(3);
    expect(sd.paramGroups[1]!.lr).toBe(0.05);
    const b = a.map((p) => {
      const c = p.clone();
      c.requiresGrad = true;
      return c;
    });
    const optB = new AdamW([{ params: [b[0]!] }, { params: [b[1]!] }], { lr: 0.01, amsgrad: true });
    optB.loadStateDict(sd);
    expect(optB.paramGroups[1]!.lr).toBe(0.05);
    run(a, optA, 4, 7);
    run(b, optB, 4, 7);
    a.forEach((p, i) => {
      expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(p.dataSync()));
    });
  });

  it('rejects a parameter in two groups, negative lr, bad betas and bad Nesterov', () => {
    const p = tensor([1], { requiresGrad: true });
    const q = tensor([1], { requiresGrad: true });
    expect(() => new SGD([{ params: [p] }, { params: [p, q] }])).toThrow(ArgumentError);
    expect(() => new SGD([{ params: [p] }, { params: [p, q] }])).toThrow(/more than one group/);
    expect(() => new Adam([p], { lr: -1 })).toThrow(/lr must be/);
    expect(() => new Adam([p], { betas: [1, 0.9] })).toThrow(/betas/);
    expect(() => new SGD([p], { nesterov: true })).toThrow(/Nesterov/);
    expect(() => new SGD([])).toThrow(/empty/);
    const opt = new SGD([p]);
    expect(() => opt.addParamGroup({ params: [p] })).toThrow(ArgumentError);
    opt.addParamGroup({ params: [q], lr: 0.5 });
    expect(opt.paramGroups[1]!.lr).toBe(0.5);
    expect(opt.paramGroups[1]!.momentum).toBe(0);
  });

  it('paramGroupsWithWeightDecay excludes biases and 1-D params and frozen ones', () => {
    const w = tensor([[1, 2]], { requiresGrad: true });
    const b = tensor([1], { requiresGrad: true });
    const norm = tensor([1, 1], { requiresGrad: true });
    const frozen = tensor([[1]]);
    const groups = paramGroupsWithWeightDecay(
      [
        ['fc.weight', w],
        ['fc.bias', b],
        ['norm.weight', norm],
        ['frozen.weight', frozen],
      ],
      { weightDecay: 0.1 },
    );
    expect(groups).toEqual([
      { params: [w], weightDecay: 0.1 },
      { params: [b, norm], weightDecay: 0 },
    ]);
    const custom = paramGroupsWithWeightDecay([['fc.weight', w]], {
      weightDecay: 0.1,
      noDecay: (n) => n.startsWith('fc'),
    });
    expect(custom).toEqual([{ params: [w], weightDecay: 0 }]);
  });
});
