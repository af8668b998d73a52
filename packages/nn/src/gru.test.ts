import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randn, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { gradCheckModule } from './grad-check-module.js';
import { GRU } from './gru.js';

// Golden values: fixtures/gru.json from scripts/make-gru-fixture.py (torch.nn.GRU, batch_first, two
// layers, a right-padded batch through pack_padded_sequence; gradients of a fixed weighted sum).
interface Encoded {
  shape: number[];
  data: number[];
}
const fx = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'gru.json'), 'utf8')) as {
  lengths: number[];
  x: Encoded;
  xGrad: Encoded;
  state: Record<string, Encoded>;
  grads: Record<string, Encoded>;
  output: Encoded;
  hidden: Encoded;
  weightOutput: Encoded;
  weightHidden: Encoded;
};
const decode = (e: Encoded) => tensor(e.data, { shape: e.shape });
const worst = (t: Tensor, e: Encoded) => {
  expect(t.shape).toEqual(e.shape);
  const v = t.dataSync();
  return e.data.reduce((m, x, i) => Math.max(m, Math.abs(v[i]! - x)), 0);
};
const [batch, steps] = fx.x.shape as [number, number];
const mask = tensor(
  Array.from({ length: batch * steps }, (_, i) => i % steps < fx.lengths[Math.floor(i / steps)]!),
  { shape: [batch, steps] },
);

describe('GRU matches torch.nn.GRU', () => {
  it('loads the torch state dict strictly; outputs, h_n and every gradient within 1e-5', () => {
    const gru = new GRU(3, 4, { numLayers: 2 });
    const state = Object.fromEntries(Object.entries(fx.state).map(([k, v]) => [k, decode(v)]));
    expect(gru.loadStateDict(state)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const x = decode(fx.x).requiresGrad_();
    const { output, hidden } = gru.forward(x, { mask });
    expect(worst(output, fx.output)).toBeLessThan(1e-5);
    expect(worst(hidden, fx.hidden)).toBeLessThan(1e-5);
    output
      .mul(decode(fx.weightOutput))
      .sum()
      .add(hidden.mul(decode(fx.weightHidden)).sum())
      .backward();
    expect(worst(x.grad!, fx.xGrad)).toBeLessThan(1e-5);
    for (const [name, p] of gru.namedParameters()) expect(worst(p.grad!, fx.grads[name]!)).toBeLessThan(1e-5);
  });

  it('is order-aware: swapping two steps changes the final state', () => {
    const gru = new GRU(2, 3, { seed: 1 });
    const a = tensor([
      [
        [1, 0],
        [0, 1],
        [0, 0],
      ],
    ]);
    const b = tensor([
      [
        [0, 1],
        [1, 0],
        [0, 0],
      ],
    ]);
    const ha = gru.forward(a).hidden.dataSync();
    const hb = gru.forward(b).hidden.dataSync();
    expect(Math.max(...ha.map((v, i) => Math.abs(v - hb[i]!)))).toBeGreaterThan(1e-3);
  });

  it('without a mask equals the masked run on full-length rows; padding never reaches h_n', () => {
    const gru = new GRU(3, 4, { numLayers: 2, seed: 2 });
    const x = randn([2, 4, 3], { seed: 3 });
    const full = gru.forward(x).hidden.dataSync();
    const masked = gru.forward(x, {
      mask: tensor([
        [true, true, true, true],
        [true, true, true, true],
      ]),
    });
    expect(Array.from(masked.hidden.dataSync())).toEqual(Array.from(full));
    const garbage = x.add(tensor([0, 0, 0, 100], { shape: [1, 4, 1] }));
    const short = tensor([
      [true, true, true, false],
      [true, true, true, false],
    ]);
    expect(Array.from(gru.forward(garbage, { mask: short }).hidden.dataSync())).toEqual(
      Array.from(gru.forward(x, { mask: short }).hidden.dataSync()),
    );
  });

  it('parameter gradients agree with central differences', () => {
    const gru = new GRU(2, 3, { numLayers: 2, seed: 4 });
    const x = randn([2, 3, 2], { seed: 5 });
    const m = tensor([
      [true, true, true],
      [true, true, false],
    ]);
    const r = gradCheckModule(gru, () => gru.forward(x, { mask: m }).output.tanh().mean(), { eps: 1e-2 });
    expect(r.ok, `${r.parameter}: ${JSON.stringify(r)}`).toBe(true);
  });

  it('names the argument and the shapes on bad input', () => {
    const gru = new GRU(3, 4);
    expect(() => new GRU(0, 4)).toThrow(/inputSize must be a positive integer, got 0/);
    expect(() => gru.forward(randn([2, 5, 2]))).toThrow(/x must be \[batch, steps, 3\], got \[2,5,2\]/);
    expect(() => gru.forward(randn([2, 5, 3]), { mask: tensor([[true]]) })).toThrow(
      /mask must be bool \[2, 5\]/,
    );
    expect(() => gru.forward(randn([2, 5, 3]), { h0: randn([2, 2, 4]) })).toThrow(/h0 must be \[1, 2, 4\]/);
  });
});
