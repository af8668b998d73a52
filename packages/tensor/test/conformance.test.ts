/**
 * One conformance suite for every backend: each op's forward output and input gradients must match
 * the cpu reference backend within float32 tolerances. Backends come from POLYMODAL_BACKENDS
 * (comma-separated) or default to those of this package; backend packages (e.g.
 * @polymodal/backend-gpujs) run the same table from `@polymodal/tensor/backend`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_CASES, conformanceMismatches, runConformanceCase } from '../src/backend-kit.js';
import * as T from '../src/index.js';

const BACKENDS = (process.env.POLYMODAL_BACKENDS ?? 'wasm').split(',').filter(Boolean);

afterAll(() => T.setBackend('cpu'));

for (const backend of BACKENDS) {
  describe(`conformance on ${backend}`, () => {
    for (const c of CONFORMANCE_CASES) {
      it(c.name, async () => {
        const reference = await runConformanceCase(c, 'cpu');
        const actual = await runConformanceCase(c, backend);
        expect(conformanceMismatches(c, reference, actual)).toEqual([]);
      });
    }
  });
}

it('the comparison finds a wrong value, a wrong shape and a missing gradient', () => {
  const c = CONFORMANCE_CASES[0]!;
  const good = { outputs: [{ shape: [2], dtype: 'float32', values: [1, Number.NaN] }], grads: [[0.5]] };
  expect(conformanceMismatches(c, good, good)).toEqual([]);
  const bad = { outputs: [{ shape: [1, 2], dtype: 'float32', values: [1.1, 2] }], grads: [null] };
  expect(conformanceMismatches(c, good, bad)).toEqual([
    'output 0 shape [1,2], reference [2]',
    'output 0[0]: got 1.1, reference 1',
    'gradient 0: missing, reference present',
  ]);
});
