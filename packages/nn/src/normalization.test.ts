/**
 * BatchNorm1d/2d and GroupNorm against PyTorch 1.13 (fixtures from scripts/make-fixtures.py: each
 * layer through training steps from a saved initial state dict, step 0's gradients, the running
 * statistics and num_batches_tracked as torch saved them, and an eval-mode output), on the cpu
 * reference and on wasm; plus gradient checks, buffers in state dicts and safetensors, and bad input.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ArgumentError,
  memory,
  randn,
  ShapeError,
  scope,
  setBackend,
  type Tensor,
  tensor,
} from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { ReLU } from './activations.js';
import { BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormModuleOptions } from './batch-norm.js';
import { Sequential } from './containers.js';
import { Conv2d } from './conv2d.js';
import { gradCheckModule } from './grad-check-module.js';
import { GroupNorm } from './group-norm.js';
import type { Module } from './module.js';
import { loadModule } from './node.js';
import { deserializeSafetensors, serializeSafetensors } from './safetensors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

interface NormGolden {
  config: { momentum?: number | null; eps?: number; affine?: boolean; trackRunningStats?: boolean };
  steps: { input: number[]; inputShape: number[]; output: number[] }[];
  upstream: number[];
  gradInput: number[];
  'grad.weight'?: number[];
  'grad.bias'?: number[];
  buffers: Record<string, number[]>;
  evalInput: number[];
  evalInputShape: number[];
  evalOutput: number[];
}

const golden = async (name: string) =>
  JSON.parse(await readFile(join(FIXTURES, `${name}.json`), 'utf8')) as NormGolden;

function expectClose(
  actual: Tensor | ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
) {
  const a = 'dataSync' in actual ? actual.dataSync() : actual;
  expect(a.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(a[i]! - expected[i]!));
  expect(worst, what).toBeLessThanOrEqual(tol);
}

/** Runs a fixture's training steps and eval on `module` (loaded from the fixture's initial state). */
async function replay(name: string, module: Module): Promise<void> {
  const g = await golden(name);
  expect(await loadModule(join(FIXTURES, `${name}-init.safetensors`), module)).toEqual({
    missingKeys: [],
    unexpectedKeys: [],
  });
  module.train();
  g.steps.forEach((step, k) => {
    const x = tensor(step.input, { shape: step.inputShape, requiresGrad: k === 0 });
    const y = module.forward(x) as Tensor;
    expectClose(y, step.output, 2e-5, `${name} step ${k} output`);
    if (k === 0) {
      module.zeroGrad();
      y.mul(tensor(g.upstream, { shape: y.shape }))
        .sum()
        .backward();
      expectClose(x.grad!, g.gradInput, 2e-5, `${name} grad input`);
      for (const [pname, p] of module.namedParameters())
        expectClose(p.grad!, g[`grad.${pname}` as 'grad.weight']!, 1e-4, `${name} grad ${pname}`);
    }
  });
  const buffers = Object.fromEntries(module.namedBuffers());
  expect(Object.keys(buffers).sort()).toEqual(Object.keys(g.buffers).sort());
  for (const [bname, want] of Object.entries(g.buffers)) expectClose(buffers[bname]!, want, 1e-5, bname);
  module.eval();
  const ye = module.forward(tensor(g.evalInput, { shape: g.evalInputShape })) as Tensor;
  expectClose(ye, g.evalOutput, 2e-5, `${name} eval output`);
}

afterAll(() => setBackend('wasm'));

describe.each(['cpu', 'wasm'])('PyTorch golden values on %s', (backend) => {
  it('BatchNorm2d: three training steps (momentum 0.1), gradients, running stats, eval', async () => {
    setBackend(backend);
    await replay('batch-norm-2d', new BatchNorm2d(4));
  });

  it('BatchNorm1d on [N, C, L], momentum null (cumulative average), eps 1e-3', async () => {
    setBackend(backend);
    await replay('batch-norm-1d-cumulative', new BatchNorm1d(3, { momentum: null, eps: 1e-3 }));
  });

  it('BatchNorm1d on [N, C] without affine or running stats: eval uses batch statistics', async () => {
    setBackend(backend);
    const bn = new BatchNorm1d(5, { affine: false, trackRunningStats: false });
    expect(bn.parameters()).toEqual([]);
    expect(bn.stateDict()).toEqual({});
    await replay('batch-norm-1d-untracked', bn);
  });

  it('GroupNorm(3, 6)', async () => {
    setBackend(backend);
    await replay('group-norm', new GroupNorm(3, 6));
  });
});

describe('PyTorch state dicts', () => {
  it.each([
    ['batch-norm-2d', () => new BatchNorm2d(4)],
    ['batch-norm-1d-cumulative', () => new BatchNorm1d(3, { momentum: null, eps: 1e-3 })],
  ] as const)(
    '%s: the trained state dict (int64 num_batches_tracked) loads and evaluates like torch',
    async (name, make) => {
      const g = await golden(name);
      const bn = make();
      expect(await loadModule(join(FIXTURES, `${name}.safetensors`), bn)).toEqual({
        missingKeys: [],
        unexpectedKeys: [],
      });
      expect(bn.numBatchesTracked!.dtype).toBe('int32');
      expect(bn.numBatchesTracked!.item()).toBe(g.steps.length);
      bn.eval();
      expectClose(bn.forward(tensor(g.evalInput, { shape: g.evalInputShape })), g.evalOutput, 2e-5, 'eval');
    },
  );
});

describe('BatchNorm buffers', () => {
  it('are in the state dict (PyTorch names and order), not in parameters(), and round-trip through safetensors', () => {
    const bn = new BatchNorm2d(3);
    expect(Object.keys(bn.stateDict())).toEqual([
      'weight',
      'bias',
      'running_mean',
      'running_var',
      'num_batches_tracked',
    ]);
    expect(bn.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    expect(bn.buffers().every((b) => !b.requiresGrad)).toBe(true);
    scope(() => bn.forward(randn([4, 3, 2, 2], { seed: 1 }).mul(3).add(1)));
    scope(() => bn.forward(randn([4, 3, 2, 2], { seed: 2 })));
    const bytes = serializeSafetensors(bn.stateDict());
    const fresh = new BatchNorm2d(3);
    fresh.loadStateDict(deserializeSafetensors(bytes).tensors);
    for (const [k, v] of Object.entries(bn.stateDict())) {
      expect(Array.from(fresh.stateDict()[k]!.dataSync()), k).toEqual(Array.from(v.dataSync()));
    }
    expect(fresh.numBatchesTracked!.item()).toBe(2);
    expect(fresh.runningMean!.dataSync().some((v) => v !== 0)).toBe(true);
    const x = randn([2, 3, 2, 2], { seed: 3 });
    expect(Array.from(fresh.eval().forward(x).dataSync())).toEqual(
      Array.from(bn.eval().forward(x).dataSync()),
    );
  });

  it('eval mode leaves the running statistics alone; resetRunningStats restores them', () => {
    const bn = new BatchNorm1d(2);
    scope(() => bn.forward(randn([5, 2], { seed: 4 }).add(2)));
    const before = Array.from(bn.runningMean!.dataSync());
    bn.eval();
    scope(() => bn.forward(randn([5, 2], { seed: 5 })));
    expect(Array.from(bn.runningMean!.dataSync())).toEqual(before);
    expect(bn.numBatchesTracked!.item()).toBe(1);
    bn.resetRunningStats();
    expect(Array.from(bn.runningMean!.dataSync())).toEqual([0, 0]);
    expect(Array.from(bn.runningVar!.dataSync())).toEqual([1, 1]);
    expect(bn.numBatchesTracked!.item()).toBe(0);
  });

  it('momentum 0 keeps the running statistics; momentum 1 takes the last batch', () => {
    const x = randn([6, 2], { seed: 6 }).mul(2).add(1);
    const keep = new BatchNorm1d(2, { momentum: 0 });
    const last = new BatchNorm1d(2, { momentum: 1 });
    scope(() => keep.forward(x));
    scope(() => last.forward(x));
    expect(Array.from(keep.runningMean!.dataSync())).toEqual([0, 0]);
    expectClose(last.runningMean!, x.mean(0).dataSync(), 1e-6, 'mean');
    expectClose(last.runningVar!, x.var(0).dataSync(), 1e-5, 'unbiased var');
  });
});

describe('BatchNorm.forwardChannelsLast', () => {
  it('equals forward on the channels-first tensor: output, gradients, running statistics, counter', () => {
    const x = randn([3, 5, 4, 6], { seed: 21 }).mul(1.5).add(0.5); // [N, C, H, W], C = 5
    const dy = randn([3, 5, 4, 6], { seed: 22 });
    const first = new BatchNorm2d(5, { momentum: null });
    const last = new BatchNorm2d(5, { momentum: null });
    for (const bn of [first, last]) {
      bn.weight!.assign(randn([5], { seed: 23 }));
      bn.bias!.assign(randn([5], { seed: 24 }));
    }
    const yFirst = first.forward(x);
    scope(() => yFirst.backward(dy));
    const xLast = x.permute(0, 2, 3, 1); // [N, H, W, C]
    const yLast = last.forwardChannelsLast(xLast);
    expect(yLast.shape).toEqual([3, 4, 6, 5]);
    scope(() => yLast.backward(dy.permute(0, 2, 3, 1)));
    expectClose(yLast.permute(0, 3, 1, 2), yFirst.dataSync(), 1e-5, 'y');
    expectClose(last.weight!.grad!, first.weight!.grad!.dataSync(), 1e-4, 'dw');
    expectClose(last.bias!.grad!, first.bias!.grad!.dataSync(), 1e-4, 'db');
    expectClose(last.runningMean!, first.runningMean!.dataSync(), 1e-6, 'running mean');
    expectClose(last.runningVar!, first.runningVar!.dataSync(), 1e-5, 'running var');
    expect(last.numBatchesTracked!.item()).toBe(1);
  });

  it('refuses input whose last axis is not C', () => {
    expect(() => new BatchNorm2d(5).forwardChannelsLast(randn([2, 5, 3, 3]))).toThrow(
      /BatchNorm2d\.forwardChannelsLast: input must be \[\.\.\., C\] with C = 5, got \[2,5,3,3\]/,
    );
  });
});

describe('gradient checks (central differences)', () => {
  const cases: [string, () => Module, number[]][] = [
    ['BatchNorm2d train', () => new BatchNorm2d(3), [4, 3, 2, 2]],
    ['BatchNorm1d train [N, C]', () => new BatchNorm1d(3), [5, 3]],
    ['BatchNorm2d eval', () => new BatchNorm2d(3).eval(), [2, 3, 2, 2]],
    ['GroupNorm', () => new GroupNorm(2, 4), [2, 4, 3, 2]],
  ];
  it.each(cases)('%s: input and parameter gradients', (_, make, shape) => {
    const m = make();
    // Non-trivial affine parameters, so each gradient term shows.
    scope(() => {
      for (const p of m.parameters()) p.assign(randn(p.shape, { seed: 7 }).add(1));
    });
    const x = randn(shape, { seed: 8 }).mul(2);
    const w = randn(shape, { seed: 9 });
    const loss = () => (m.forward(x) as Tensor).mul(w).sum().div(Math.sqrt(x.size));
    expect(gradCheckModule(m, loss, { atol: 2e-3, rtol: 2e-2 }).ok).toBe(true);
  });
});

describe('a conv stem (Conv2d → BatchNorm2d → ReLU) ×2', () => {
  it('trains without leaking tensors, on wasm', () => {
    setBackend('wasm');
    const stem = new Sequential(
      new Conv2d(3, 8, 3, { stride: 2, padding: 1, bias: false, seed: 1 }),
      new BatchNorm2d(8),
      new ReLU(),
      new Conv2d(8, 16, 3, { stride: 2, padding: 1, bias: false, seed: 2 }),
      new BatchNorm2d(16),
      new ReLU(),
    );
    const x = randn([4, 3, 16, 16], { seed: 3 });
    scope(() => (stem.forward(x) as Tensor).mean().backward());
    stem.zeroGrad();
    const before = memory().tensors;
    for (let i = 0; i < 3; i++) scope(() => (stem.forward(x) as Tensor).mean().backward());
    stem.zeroGrad();
    expect(memory().tensors).toBe(before);
    const bn = stem.modules().find((m): m is BatchNorm => m instanceof BatchNorm)!;
    expect(bn.numBatchesTracked!.item()).toBe(4);
  });
});

describe('bad input', () => {
  it('typed errors name the layer, argument and shapes', () => {
    expect(() => new BatchNorm2d(0)).toThrow(ArgumentError);
    expect(() => new BatchNorm2d(3, { momentum: 1.5 } as BatchNormModuleOptions)).toThrow(/momentum/);
    expect(() => new BatchNorm2d(3).forward(randn([2, 3, 4]))).toThrow(ShapeError);
    expect(() => new BatchNorm2d(3).forward(randn([2, 4, 2, 2]))).toThrow(
      /BatchNorm2d.forward: input must be \[N, C, H, W\] with C = 3, got \[2,4,2,2\]/,
    );
    expect(() => new BatchNorm1d(3).forward(randn([1, 3]))).toThrow(/more than 1 value per channel/);
    expect(() => new BatchNorm1d(3).forward(randn([2, 3, 4, 5]))).toThrow(/\[N, C\] or \[N, C, L\]/);
    expect(() => new GroupNorm(4, 6)).toThrow(/divisible by numGroups/);
    expect(() => new GroupNorm(2, 6).forward(randn([2, 4, 3]))).toThrow(/C = 6, got \[2,4,3\]/);
  });
});
