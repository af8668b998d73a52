import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

type Options = T.AdamStepOptions;

/** The update as separate float32 ops, written out here independently of src/ops/adam-step.ts. */
function composed(p: T.Tensor, g0: T.Tensor, m: T.Tensor, v: T.Tensor, vmax: T.Tensor | null, o: Options) {
  let g = o.maximize ? g0.neg() : g0;
  if (o.weightDecay !== 0) {
    if (o.decoupledWeightDecay) p = p.mul(1 - o.lr * o.weightDecay);
    else g = g.add(p.mul(o.weightDecay));
  }
  m = m.add(g.sub(m).mul(1 - o.beta1));
  v = v.mul(o.beta2).add(g.mul(g).mul(1 - o.beta2));
  if (vmax) vmax = vmax.maximum(v);
  const denom = (vmax ?? v)
    .sqrt()
    .div(Math.sqrt(1 - o.beta2 ** o.step))
    .add(o.eps);
  p = p.add(m.div(denom).mul(-o.lr / (1 - o.beta1 ** o.step)));
  return { p, m, v, vmax };
}

const base: Options = {
  lr: 1e-2,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  decoupledWeightDecay: false,
  step: 1,
  amsgrad: false,
  maximize: false,
};

describe('adamStep (fused AdamStep kernel)', () => {
  const variants: [string, Partial<Options>][] = [
    ['Adam', {}],
    ['Adam + L2 weight decay', { weightDecay: 0.1 }],
    ['AdamW', { weightDecay: 0.1, decoupledWeightDecay: true }],
    ['AMSGrad, maximize', { amsgrad: true, maximize: true, weightDecay: 0.05 }],
    // wasm's SIMD kernel takes every variant but AMSGrad: its sign flip and L2 select too.
    ['Adam + L2, maximize', { maximize: true, weightDecay: 0.05 }],
    ['AdamW, maximize', { maximize: true, weightDecay: 0.05, decoupledWeightDecay: true }],
  ];
  for (const backend of ['cpu', 'wasm']) {
    for (const [name, extra] of variants) {
      it(`${backend}: ${name} matches the composed float32 ops bit for bit over 3 steps`, () => {
        T.setBackend(backend);
        const shape = [7, 5];
        const p = T.randn(shape, { seed: 1 });
        const m = T.zeros(shape);
        const v = T.zeros(shape);
        const vmax = extra.amsgrad ? T.zeros(shape) : null;
        let ref = { p: p.clone(), m: m.clone(), v: v.clone(), vmax: vmax?.clone() ?? null };
        for (let step = 1; step <= 3; step++) {
          const o = { ...base, ...extra, step };
          const g = T.randn(shape, { seed: 10 + step });
          T.adamStep(p, g, { expAvg: m, expAvgSq: v, maxExpAvgSq: vmax }, o);
          ref = composed(ref.p, g, ref.m, ref.v, ref.vmax, o);
        }
        expect(Array.from(p.dataSync())).toEqual(Array.from(ref.p.dataSync()));
        expect(Array.from(m.dataSync())).toEqual(Array.from(ref.m.dataSync()));
        expect(Array.from(v.dataSync())).toEqual(Array.from(ref.v.dataSync()));
        if (vmax) expect(Array.from(vmax.dataSync())).toEqual(Array.from(ref.vmax!.dataSync()));
        T.setBackend('cpu');
      });
    }
  }

  it('first step moves each weight by about lr against its gradient sign (the textbook property)', () => {
    T.setBackend('cpu');
    const p = T.tensor([1, -2, 3]);
    const g = T.tensor([0.5, -4, 1e-3]);
    T.adamStep(p, g, { expAvg: T.zeros([3]), expAvgSq: T.zeros([3]) }, { ...base, lr: 0.1 });
    // m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps) ≈ lr·sign(g).
    const got = Array.from(p.dataSync());
    [0.9, -1.9, 2.9].forEach((want, i) => expect(got[i]).toBeCloseTo(want, 5));
  });

  it('names the tensor whose shape does not match', () => {
    expect(() =>
      T.adamStep(T.zeros([3]), T.zeros([4]), { expAvg: T.zeros([3]), expAvgSq: T.zeros([3]) }, base),
    ).toThrow(/grad \[4\] must match param \[3\]/);
  });
});
