/**
 * Central-difference gradient checks for every differentiable op in the conformance table (on the
 * cpu reference; the conformance suite then holds every other backend to the same gradients).
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../src/index.js';
import * as T from '../src/index.js';
import { CONFORMANCE_CASES as CASES } from '../src/testing/conformance-cases.js';

// Ops with kinks or jumps, where a finite difference across one is not the derivative.
const NOT_SMOOTH = new Set([
  'sign',
  'floor',
  'ceil',
  'round half to even',
  'maxPool2d',
  'globalMaxPool2d',
  'max',
  'min',
  'clamp',
  'relu',
  'abs',
  'maximum',
  'minimum',
]);

describe('gradient checks (central differences, float32)', () => {
  for (const c of CASES) {
    if (c.backward === false || c.name === 'round half to even') continue;
    it(c.name, () => {
      T.setBackend('cpu');
      T.scope(() => {
        const inputs = c.inputs();
        const floatIdx = inputs.map((x, i) => (x.dtype === 'float32' ? i : -1)).filter((i) => i >= 0);
        // A weighted sum of the outputs with fixed weights, scaled to stay O(1) in float32.
        const f = (...xs: Tensor[]) => {
          const all = inputs.map((x, i) => {
            const k = floatIdx.indexOf(i);
            return k >= 0 ? xs[k]! : x;
          });
          const out = c.run(...all);
          const outs = Array.isArray(out) ? out : [out];
          return outs
            .filter((o) => o.dtype === 'float32')
            .map((o, k) =>
              o
                .mul(T.randn(o.shape, { seed: 2000 + k }))
                .sum()
                .div(Math.sqrt(o.size)),
            )
            .reduce((a, b) => a.add(b));
        };
        // Piecewise ops: entries within eps of a kink (where the one-sided differences disagree)
        // are skipped, a few at most; every other entry meets the same tolerance as smooth ops.
        const piecewise = NOT_SMOOTH.has(c.name);
        const result = T.gradCheck(
          f,
          floatIdx.map((i) => inputs[i]!),
          { eps: 1e-3, atol: 2e-3, rtol: 2e-2, skipKinks: piecewise },
        );
        expect(result.ok, JSON.stringify(result.worst)).toBe(true);
        expect(result.skipped).toBeLessThanOrEqual(piecewise ? 2 : 0);
      });
    });
  }

  it('with skipKinks, still catches a wrong gradient of a piecewise op', () => {
    T.setBackend('cpu');
    const x = T.randn([4, 5], { seed: 6 });
    const f = (t: Tensor) =>
      T.relu(t)
        .mul(T.randn([4, 5], { seed: 7 }))
        .sum();
    const right = T.gradCheck(f, [x], { skipKinks: true });
    expect(right.ok).toBe(true);
    const original = T.getGradient('Relu')!;
    // Pass dy through everywhere (the identity's derivative), as if relu had no kink.
    T.registerGradient({ kernelName: 'Relu', gradFunc: (dy) => [dy] });
    try {
      expect(T.gradCheck(f, [x], { skipKinks: true }).ok).toBe(false);
    } finally {
      T.registerGradient(original);
    }
    expect(T.gradCheck(f, [x], { skipKinks: true }).ok).toBe(true);
  });

  it('catches a deliberately wrong gradient', () => {
    T.setBackend('cpu');
    const x = T.randn([3, 4], { seed: 5 });
    const f = (t: Tensor) => T.sin(t).sum();
    expect(T.gradCheck(f, [x]).ok).toBe(true);
    // Replace sin's derivative (cos) with a wrong one, then restore it.
    T.registerGradient({ kernelName: 'Sin', gradFunc: (dy, ctx) => [dy.mul(T.sin(ctx.inputs[0]!))] });
    try {
      expect(T.gradCheck(f, [x]).ok).toBe(false);
    } finally {
      T.registerGradient({ kernelName: 'Sin', gradFunc: (dy, ctx) => [dy.mul(T.cos(ctx.inputs[0]!))] });
    }
    expect(T.gradCheck(f, [x]).ok).toBe(true);
  });
});
