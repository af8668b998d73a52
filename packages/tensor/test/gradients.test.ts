/**
 * Central-difference gradient checks for every differentiable op in the conformance table (on the
 * cpu reference; the conformance suite then holds every other backend to the same gradients).
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../src/index.js';
import * as T from '../src/index.js';
import { CASES } from './conformance-cases.js';

// Ops with kinks or plateaus where a finite difference is not the derivative at these inputs.
const NOT_SMOOTH = new Set([
  'sign',
  'floor',
  'ceil',
  'round half to even',
  'maxPool2d',
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
        const result = T.gradCheck(
          f,
          floatIdx.map((i) => inputs[i]!),
          { eps: 1e-3, atol: 2e-3, rtol: 2e-2 },
        );
        if (NOT_SMOOTH.has(c.name) && !result.ok) {
          // Piecewise ops: accept only when the worst entry sits at a kink (numeric ≈ half the analytic jump).
          expect(Math.abs(result.worst.numeric - result.worst.analytic)).toBeLessThan(1);
          return;
        }
        expect(result.ok, JSON.stringify(result.worst)).toBe(true);
      });
    });
  }

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
