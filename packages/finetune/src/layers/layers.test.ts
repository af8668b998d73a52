import { Linear, Module } from '@polymodal/nn';
import { ArgumentError, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { AdamW } from '../optim/adam.js';
import { getScheduler } from '../schedulers/get-scheduler.js';
import { freezeParameters, GradualUnfreezer, parameterCountReport, unfreezeParameters } from './freezing.js';
import { layerScale, layerWiseLrDecayGroups } from './layer-decay.js';
import { defaultLayerId } from './layer-id.js';

/** A stand-in for an nn Module: a 2-block encoder with embeddings and a head. */
function fakeModel(): { namedParameters(): [string, Tensor][] } {
  const entries: [string, Tensor][] = [
    ['embeddings.token.weight', tensor([[1, 2]], { requiresGrad: true })],
    ['embeddings.norm.weight', tensor([1, 1], { requiresGrad: true })],
    ['encoder.layers.0.attn.q.weight', tensor([[1, 2, 3]], { requiresGrad: true })],
    ['encoder.layers.0.attn.q.bias', tensor([1], { requiresGrad: true })],
    [
      'encoder.layers.1.mlp.fc1.weight',
      tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { requiresGrad: true },
      ),
    ],
    ['encoder.norm.weight', tensor([1, 1], { requiresGrad: true })],
    ['head.weight', tensor([[1, 2]], { requiresGrad: true })],
  ];
  return { namedParameters: () => entries };
}

describe('layer ids and layer-wise lr decay', () => {
  it('maps embeddings → 0, layers.i → i+1, the rest → numLayers+1', () => {
    expect(defaultLayerId('embeddings.token.weight', 2)).toBe(0);
    expect(defaultLayerId('vision.patchEmbedding.proj.weight', 2)).toBe(0);
    expect(defaultLayerId('clsToken', 2)).toBe(0);
    expect(defaultLayerId('text.positionalEmbedding.weight', 2)).toBe(0);
    expect(defaultLayerId('vision.maskToken', 2)).toBe(0);
    expect(defaultLayerId('encoder.layers.1.selfAttn.out_proj.weight', 2)).toBe(2);
    expect(defaultLayerId('pooler.dense.weight', 2)).toBe(3);
    expect(defaultLayerId('encoder.layers.0.attn.q.weight', 2)).toBe(1);
    expect(defaultLayerId('encoder.layers.1.mlp.fc1.weight', 2)).toBe(2);
    expect(defaultLayerId('encoder.norm.weight', 2)).toBe(3);
    expect(defaultLayerId('head.weight', 2)).toBe(3);
  });

  it('scale = decay^(numLayers + 1 − id) (BEiT), lr per group, no-decay split', () => {
    expect(layerScale(0, 12, 0.75)).toBeCloseTo(0.75 ** 13, 15);
    expect(layerScale(13, 12, 0.75)).toBe(1);
    const groups = layerWiseLrDecayGroups(fakeModel().namedParameters(), {
      lr: 1,
      layerDecay: 0.5,
      numLayers: 2,
      weightDecay: 0.05,
    });
    const summary = groups.map((g) => [g.layerId, g.lr, g.weightDecay, g.names]);
    expect(summary).toEqual([
      [0, 0.125, 0.05, ['embeddings.token.weight']],
      [0, 0.125, 0, ['embeddings.norm.weight']],
      [1, 0.25, 0.05, ['encoder.layers.0.attn.q.weight']],
      [1, 0.25, 0, ['encoder.layers.0.attn.q.bias']],
      [2, 0.5, 0.05, ['encoder.layers.1.mlp.fc1.weight']],
      [3, 1, 0, ['encoder.norm.weight']],
      [3, 1, 0.05, ['head.weight']],
    ]);
  });

  it('feeds AdamW, and a schedule keeps the per-layer ratios', () => {
    const groups = layerWiseLrDecayGroups(fakeModel().namedParameters(), {
      lr: 1,
      layerDecay: 0.5,
      numLayers: 2,
    });
    const opt = new AdamW(groups, { weightDecay: 0 });
    const sched = getScheduler('linear', opt, { numWarmupSteps: 2, numTrainingSteps: 10 });
    sched.step();
    sched.step();
    sched.step(); // step 3: factor (10 − 3)/(10 − 2) = 0.875
    expect(sched.getLastLr()).toEqual([0.125, 0.25, 0.5, 1].map((lr) => lr * 0.875));
  });

  it('accepts a custom layer-id hook and rejects out-of-range ids', () => {
    const groups = layerWiseLrDecayGroups(fakeModel().namedParameters(), {
      lr: 1,
      layerDecay: 0.5,
      numLayers: 0,
      getLayerId: (name) => (name.startsWith('head') ? 1 : 0),
    });
    expect(groups.map((g) => [g.layerId, g.lr, g.params.length])).toEqual([
      [0, 0.5, 6],
      [1, 1, 1],
    ]);
    expect(() =>
      layerWiseLrDecayGroups(fakeModel().namedParameters(), {
        lr: 1,
        layerDecay: 0.5,
        numLayers: 2,
        getLayerId: () => 7,
      }),
    ).toThrow(ArgumentError);
  });
});

describe('freezing', () => {
  it('freezes by glob and reports trainable vs frozen counts', () => {
    const model = fakeModel();
    expect(freezeParameters(model, 'embeddings.**')).toEqual([
      'embeddings.token.weight',
      'embeddings.norm.weight',
    ]);
    expect(freezeParameters(model, /layers\.0\./)).toHaveLength(2);
    const r = parameterCountReport(model);
    // sizes: emb 2+2, layer0 3+1, layer1 4, norm 2, head 2 → 16 total, 8 frozen.
    expect([r.trainable, r.frozen, r.total]).toEqual([8, 8, 16]);
    expect(r.trainablePercent).toBe(50);
    expect(r.byModule.encoder).toEqual({ trainable: 6, frozen: 4 });
    expect(r.summary).toBe('trainable params: 8 || all params: 16 || trainable%: 50.0000');
    unfreezeParameters(model, '**');
    expect(parameterCountReport(model).frozen).toBe(0);
  });

  it('clears the grads of what it freezes, the same behaviour as Module.freeze', () => {
    class Tiny extends Module {
      a = this.registerModule('a', new Linear(2, 2, { seed: 1 }));
      b = this.registerModule('b', new Linear(2, 1, { seed: 2 }));
      forward(x: Tensor): Tensor {
        return this.b.forward(this.a.forward(x));
      }
    }
    const run = (freeze: (m: Tiny) => void) => {
      const m = new Tiny();
      m.forward(tensor([[1, -2]]))
        .sum()
        .backward();
      const bGrad = m.b.weight.grad;
      freeze(m);
      // A step right after freezing must leave `a` alone: AdamW skips parameters without a grad.
      const before = Array.from(m.a.weight.dataSync());
      new AdamW(m.parameters(), { lr: 0.1 }).step();
      return {
        grads: m
          .namedParameters()
          .map(([n, p]) => [n, p.grad === null ? null : p.grad === bGrad ? 'b' : 'kept']),
        aMoved: Array.from(m.a.weight.dataSync()).some((v, i) => v !== before[i]),
        bMoved: m.b.weight.dataSync()[0] !== new Tiny().b.weight.dataSync()[0],
      };
    };
    const byFunction = run((m) => expect(freezeParameters(m, 'a.**')).toEqual(['a.weight', 'a.bias']));
    const byMethod = run((m) => m.freeze('a.**'));
    expect(byFunction).toEqual({
      grads: [
        ['a.weight', null],
        ['a.bias', null],
        ['b.weight', 'b'],
        ['b.bias', 'kept'],
      ],
      aMoved: false,
      bMoved: true,
    });
    expect(byMethod).toEqual(byFunction);
  });

  it('a single * stays within one name segment', () => {
    const model = fakeModel();
    expect(freezeParameters(model, 'encoder.*.weight')).toEqual(['encoder.norm.weight']);
  });

  it('gradual unfreezing opens one layer top-down every k epochs', () => {
    const model = fakeModel();
    const trainable = () =>
      model
        .namedParameters()
        .filter(([, p]) => p.requiresGrad)
        .map(([n]) => n.split('.')[0] + (n.includes('layers') ? `.${n.split('.')[2]}` : ''));
    const u = new GradualUnfreezer(model, { numLayers: 2, every: 2 });
    expect(new Set(trainable())).toEqual(new Set(['encoder', 'head'])); // only id 3: encoder.norm and head
    expect(u.onEpochStart(1)).toEqual([]);
    expect(u.onEpochStart(2)).toEqual(['encoder.layers.1.mlp.fc1.weight']);
    u.onEpochStart(4);
    expect(trainable()).toContain('encoder.0');
    expect(u.onEpochStart(6)).toEqual(['embeddings.token.weight', 'embeddings.norm.weight']);
    expect(() => new GradualUnfreezer(model, { numLayers: 2, every: 0 })).toThrow(ArgumentError);
  });
});
