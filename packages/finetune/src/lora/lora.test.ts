import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linear, Module } from '@polymodal/nn';
import { ArgumentError, memory, randn, scope, type Tensor } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { parameterCountReport } from '../layers/freezing.js';
import { SGD } from '../optim/sgd.js';
import {
  applyLora,
  loadLoraStateDict,
  loraLayers,
  loraStateDict,
  mergeLora,
  unmergeLora,
} from './apply-lora.js';
import { loadLoraAdapter, saveLoraAdapter } from './lora-file.js';
import { LoraLinear } from './lora-linear.js';

class Block extends Module {
  q = this.registerModule('q', new Linear(6, 6, { seed: 1 }));
  v = this.registerModule('v', new Linear(6, 6, { seed: 2 }));
  forward(x: Tensor): Tensor {
    return scope(() => this.q.forward(x).tanh().add(this.v.forward(x)));
  }
}

class Net extends Module {
  block = this.registerModule('block', new Block());
  head = this.registerModule('head', new Linear(6, 3, { seed: 3 }));
  forward(x: Tensor): Tensor {
    return scope(() => this.head.forward(this.block.forward(x)));
  }
}

const x = randn([5, 6], { seed: 10 });
const y = randn([5, 3], { seed: 11 });

function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

function train(model: Net, steps: number, lr = 0.1): void {
  const opt = new SGD(
    model.parameters().filter((p) => p.requiresGrad),
    { lr },
  );
  for (let i = 0; i < steps; i++) {
    scope(() => model.forward(x).sub(y).square().mean().backward());
    opt.step();
    opt.zeroGrad();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'finetune-lora-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LoRA', () => {
  it('wraps matching Linear layers, starts identical to the base model, freezes the rest', () => {
    const model = new Net();
    const before = values(model.forward(x));
    const wrapped = applyLora(model, { targetModules: ['q', 'v'], rank: 2, alpha: 4, seed: 0 });
    expect(wrapped).toEqual(['block.q', 'block.v']);
    expect(model.block.q).toBeInstanceOf(LoraLinear);
    expect(values(model.forward(x))).toEqual(before); // B = 0
    const trainable = model
      .namedParameters()
      .filter(([, p]) => p.requiresGrad)
      .map(([n]) => n);
    expect(trainable).toEqual(['block.q.loraA', 'block.q.loraB', 'block.v.loraA', 'block.v.loraB']);
    // 2 layers × (A [2,6] + B [6,2]) = 48 trainable of 48 + 2·42 + 21 = 153.
    expect(parameterCountReport(model).trainable).toBe(48);
    expect(parameterCountReport(model).total).toBe(153);
    const l = model.block.q as unknown as LoraLinear;
    expect(l.scaling).toBe(2);
    // kaiming-uniform(a=√5) on A [2, 6] is U(±1/√6).
    expect(Math.max(...values(l.loraA).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(6));
    expect(values(l.loraB).every((v) => v === 0)).toBe(true);
  });

  it('training changes only the adapters, and merged output equals unmerged', () => {
    const model = new Net();
    applyLora(model, { targetModules: ['block.*'], rank: 2, alpha: 2, seed: 0 });
    const frozenBefore = model
      .namedParameters()
      .filter(([, p]) => !p.requiresGrad)
      .map(([n, p]) => [n, values(p)] as const);
    const adapterBefore = values(loraStateDict(model)['block.q.loraB']!);
    train(model, 5);
    for (const [n, v] of frozenBefore) expect(values(model.getParameter(n)), n).toEqual(v);
    expect(values(loraStateDict(model)['block.q.loraB']!)).not.toEqual(adapterBefore);
    const unmerged = values(model.forward(x));
    mergeLora(model);
    expect(loraLayers(model).every(([, l]) => l.merged)).toBe(true);
    const merged = values(model.forward(x));
    merged.forEach((v, i) => {
      expect(v).toBeCloseTo(unmerged[i]!, 5);
    });
    unmergeLora(model);
    values(model.forward(x)).forEach((v, i) => {
      expect(v).toBeCloseTo(unmerged[i]!, 5);
    });
  });

  it('saves adapters alone and swaps them on one base model', async () => {
    const model = new Net();
    applyLora(model, { targetModules: [/^block\.(q|v)$/], rank: 2, seed: 0 });
    train(model, 3);
    const outA = values(model.forward(x));
    const fileA = join(dir, 'a.safetensors');
    await saveLoraAdapter(fileA, model);
    train(model, 6, 0.3);
    const outB = values(model.forward(x));
    expect(outB).not.toEqual(outA);
    const fileB = join(dir, 'b.safetensors');
    await saveLoraAdapter(fileB, model);
    await loadLoraAdapter(fileA, model);
    expect(values(model.forward(x))).toEqual(outA);
    mergeLora(model);
    await loadLoraAdapter(fileB, model); // unmerges, loads, re-merges
    values(model.forward(x)).forEach((v, i) => {
      expect(v).toBeCloseTo(outB[i]!, 5);
    });
  });

  it('rejects bad input with typed errors', () => {
    const model = new Net();
    expect(() => applyLora(model, { targetModules: ['nothing'], rank: 2 })).toThrow(
      /no Linear layer or attention projection matches/,
    );
    expect(() => new LoraLinear(new Linear(4, 3), { rank: 4 })).toThrow(ArgumentError);
    applyLora(model, { targetModules: ['q'], rank: 2 });
    expect(() => loadLoraStateDict(model, {})).toThrow(/missing 'block.q.loraA'/);
  });

  it('forward leaks nothing', () => {
    const model = new Net();
    applyLora(model, { targetModules: ['q', 'v'], rank: 2, dropout: 0.1, seed: 1 });
    model.forward(x).dispose();
    const before = memory().tensors;
    for (let i = 0; i < 3; i++) model.forward(x).dispose();
    expect(memory().tensors).toBe(before);
  });
});
