import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiHeadAttention, TransformerEncoderLayer } from '@polymodal/attention';
import { gradCheckModule, Linear, Module } from '@polymodal/nn';
import { randn, scope, type Tensor } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { Adam } from '../optim/adam.js';
import { applyLora, loraLayers, loraStateDict, mergeLora, unmergeLora } from './apply-lora.js';
import { loadLoraAdapter, saveLoraAdapter } from './lora-file.js';
import { LoraLinear } from './lora-linear.js';
import { LoraProjection } from './lora-projection.js';

const E = 8;
const x = randn([2, 5, E], { seed: 7 });
const target = randn([2, 5, 3], { seed: 8 });

/** An encoder layer (torch's MHA with a packed in_proj_weight inside) and a head. */
class Encoder extends Module {
  layer = this.registerModule(
    'layer',
    new TransformerEncoderLayer(E, 2, { dimFeedforward: 16, dropout: 0, seed: 3 }),
  );
  head = this.registerModule('head', new Linear(E, 3, { seed: 4 }));
  forward(input: Tensor): Tensor {
    return scope(() => this.head.forward(this.layer.forward(input)));
  }
}

const values = (t: Tensor) => Array.from(t.dataSync());
/** Row-major `[rows, cols]` values of a 2-D tensor as nested arrays. */
const matrix = (t: Tensor) => t.arraySync() as number[][];
/** `scale · B·A` by hand, in plain numbers (independent of the tensor ops under test). */
function handDelta(b: number[][], a: number[][], scale: number): number[][] {
  return b.map((row) => a[0]!.map((_, j) => scale * row.reduce((s, v, k) => s + v * a[k]![j]!, 0)));
}
/** Gives every B a non-zero value (B starts at 0, which would hide where the update goes). */
function randomiseB(model: Module, seed: number): void {
  loraLayers(model).forEach(([, l], i) => {
    l.loraB.assign(randn(l.loraB.shape, { seed: seed + i }).mul(0.5));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'finetune-lora-attn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LoRA on attention projections (packed in_proj_weight)', () => {
  it("targets PEFT's q_proj/v_proj (and the short q, v) without touching the packed weight", () => {
    for (const targets of [
      ['q', 'v'],
      ['q_proj', 'v_proj'],
      ['layer.self_attn.q_proj', /\.v_proj$/],
    ]) {
      const model = new Encoder();
      const before = values(model.forward(x));
      const names = applyLora(model, { targetModules: targets, rank: 2, alpha: 4, seed: 0 });
      expect(names).toEqual(['layer.self_attn.q_proj', 'layer.self_attn.v_proj']);
      expect(values(model.forward(x))).toEqual(before); // B = 0
      const trainable = model
        .namedParameters()
        .filter(([, p]) => p.requiresGrad)
        .map(([n]) => n);
      expect(trainable).toEqual([
        'layer.self_attn.q_proj.loraA',
        'layer.self_attn.q_proj.loraB',
        'layer.self_attn.v_proj.loraA',
        'layer.self_attn.v_proj.loraB',
      ]);
      // The packed parameter keeps its name and shape: a PyTorch state dict still loads.
      const sd = model.stateDict();
      expect(sd['layer.self_attn.in_proj_weight']!.shape).toEqual([3 * E, E]);
      expect(loraLayers(model).every(([, l]) => l instanceof LoraProjection)).toBe(true);
    }
  });

  it('k and out_proj can be targeted too (out_proj is a Linear, wrapped as before)', () => {
    const model = new Encoder();
    expect(applyLora(model, { targetModules: ['k', 'out_proj'], rank: 2, seed: 0 })).toEqual([
      'layer.self_attn.k_proj',
      'layer.self_attn.out_proj',
    ]);
    expect(model.layer.selfAttn.outProj).toBeInstanceOf(LoraLinear);
    expect(() => applyLora(new Encoder(), { targetModules: ['query'], rank: 2 })).toThrow(
      /no Linear layer or attention projection matches targetModules \[query\]/,
    );
  });

  it('gradients reach only the q and v adapters, and match finite differences', () => {
    const model = new Encoder();
    applyLora(model, { targetModules: ['q', 'v'], rank: 2, alpha: 4, seed: 1 });
    randomiseB(model, 20);
    const loss = () => model.forward(x).sub(target).square().mean();
    scope(() => loss().backward());
    const withGrad = model
      .namedParameters()
      .filter(([, p]) => p.grad !== null)
      .map(([n, p]) => [n, Math.max(...values(p.grad!).map(Math.abs))] as const);
    expect(withGrad.map(([n]) => n)).toEqual([
      'layer.self_attn.q_proj.loraA',
      'layer.self_attn.q_proj.loraB',
      'layer.self_attn.v_proj.loraA',
      'layer.self_attn.v_proj.loraB',
    ]);
    for (const [, g] of withGrad) expect(g).toBeGreaterThan(1e-4);
    model.zeroGrad();
    const check = gradCheckModule(model, loss, { eps: 1e-2, atol: 2e-3, rtol: 2e-2 });
    expect(check.ok, `${check.parameter}: ${JSON.stringify(check.worst)}`).toBe(true);
  });

  it('merging adds scale·B·A to exactly the q and v rows of in_proj_weight', () => {
    const model = new Encoder();
    applyLora(model, { targetModules: ['q', 'v'], rank: 2, alpha: 6, seed: 2 });
    randomiseB(model, 30);
    const w0 = matrix(model.layer.selfAttn.inProjWeight!);
    const out = values(model.forward(x));
    const [q, v] = loraLayers(model).map(([, l]) => l);
    const dq = handDelta(matrix(q!.loraB), matrix(q!.loraA), 3);
    const dv = handDelta(matrix(v!.loraB), matrix(v!.loraA), 3);
    mergeLora(model);
    const w1 = matrix(model.layer.selfAttn.inProjWeight!);
    for (let r = 0; r < 3 * E; r++) {
      for (let c = 0; c < E; c++) {
        const delta = r < E ? dq[r]![c]! : r >= 2 * E ? dv[r - 2 * E]![c]! : 0; // k rows untouched
        expect(w1[r]![c]!, `row ${r}`).toBeCloseTo(w0[r]![c]! + delta, 5);
      }
    }
    // Merged (no adapter matmuls) gives the adapted output; so does a plain layer with the merged weights.
    values(model.forward(x)).forEach((o, i) => expect(o).toBeCloseTo(out[i]!, 5));
    const plain = new Encoder();
    const merged = Object.fromEntries(Object.entries(model.stateDict()).filter(([k]) => !k.includes('lora')));
    plain.loadStateDict(merged);
    values(plain.forward(x)).forEach((o, i) => expect(o).toBeCloseTo(out[i]!, 5));
    unmergeLora(model);
    matrix(model.layer.selfAttn.inProjWeight!).forEach((row, r) => {
      row.forEach((w, c) => expect(w).toBeCloseTo(w0[r]![c]!, 5));
    });
  });

  it('merges into the separate q/v weights when kdim ≠ embedDim (no packing)', () => {
    const mha = new MultiHeadAttention(E, 2, { kdim: 6, vdim: 5, seed: 5 });
    applyLora(mha, { targetModules: ['q_proj', 'v_proj'], rank: 2, seed: 3 });
    randomiseB(mha, 40);
    const q = randn([2, 3, E], { seed: 1 });
    const k = randn([2, 4, 6], { seed: 2 });
    const v = randn([2, 4, 5], { seed: 3 });
    const out = values(mha.forward(q, k, v).output);
    const wv0 = matrix(mha.vProjWeight!);
    const lv = loraLayers(mha)[1]![1];
    const dv = handDelta(matrix(lv!.loraB), matrix(lv!.loraA), 1);
    mergeLora(mha);
    matrix(mha.vProjWeight!).forEach((row, r) => {
      row.forEach((w, c) => expect(w).toBeCloseTo(wv0[r]![c]! + dv[r]![c]!, 5));
    });
    values(mha.forward(q, k, v).output).forEach((o, i) => expect(o).toBeCloseTo(out[i]!, 5));
  });

  it('a model with LoRA on q and v trains; the frozen weights stay put', () => {
    const model = new Encoder();
    applyLora(model, { targetModules: ['q', 'v'], rank: 4, alpha: 8, seed: 0, trainable: ['head.**'] });
    const frozen = model
      .namedParameters()
      .filter(([, p]) => !p.requiresGrad)
      .map(([n, p]) => [n, values(p)] as const);
    const opt = new Adam(
      model.parameters().filter((p) => p.requiresGrad),
      { lr: 0.02 },
    );
    const lossValue = () => scope(() => model.forward(x).sub(target).square().mean().item());
    const first = lossValue();
    for (let i = 0; i < 60; i++) {
      scope(() => model.forward(x).sub(target).square().mean().backward());
      opt.step();
      opt.zeroGrad();
    }
    expect(lossValue()).toBeLessThan(0.5 * first);
    for (const [n, v] of frozen) expect(values(model.getParameter(n)), n).toEqual(v);
    expect(
      Math.max(...values(loraStateDict(model)['layer.self_attn.v_proj.loraB']!).map(Math.abs)),
    ).toBeGreaterThan(0);
  });

  it('adapter files round-trip and a PyTorch-style state dict loads around the adapters', async () => {
    const model = new Encoder();
    const baseSd = Object.fromEntries(
      Object.entries(new Encoder().stateDict()).map(([k, t]) => [k, t.clone()]),
    );
    applyLora(model, { targetModules: ['q', 'v'], rank: 2, seed: 4 });
    randomiseB(model, 50);
    const file = join(dir, 'qv.safetensors');
    await saveLoraAdapter(file, model);
    const out = values(model.forward(x));
    const other = new Encoder();
    applyLora(other, { targetModules: ['q', 'v'], rank: 2, seed: 99 });
    await loadLoraAdapter(file, other);
    values(other.forward(x)).forEach((o, i) => expect(o).toBeCloseTo(out[i]!, 6));
    // Base keys only (as exported from torch): everything but the adapters is found.
    const { missingKeys, unexpectedKeys } = other.loadStateDict(baseSd, { strict: false });
    expect(unexpectedKeys).toEqual([]);
    expect(missingKeys.sort()).toEqual([
      'layer.self_attn.q_proj.loraA',
      'layer.self_attn.q_proj.loraB',
      'layer.self_attn.v_proj.loraA',
      'layer.self_attn.v_proj.loraB',
    ]);
    expect(values(other.layer.selfAttn.inProjWeight!)).toEqual(
      values(baseSd['layer.self_attn.in_proj_weight']!),
    );
  });
});
