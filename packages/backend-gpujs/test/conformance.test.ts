/**
 * The op conformance table of @polymodal/tensor on the gpu.js backends: each op's forward output
 * and input gradients match the cpu reference within float32 tolerances. Backends come from
 * POLYMODAL_BACKENDS (headless-gl under Xvfb, WebGL2/WebGPU in Chromium) or default to the modes
 * that run in plain Node.
 */
import * as T from '@polymodal/tensor';
import { CONFORMANCE_CASES, conformanceMismatches, runConformanceCase } from '@polymodal/tensor/backend';
import { afterAll, describe, expect, it } from 'vitest';
import '../src/index.js';

const BACKENDS = (process.env.POLYMODAL_BACKENDS ?? 'gpujs-webasm,gpujs-cpu').split(',').filter(Boolean);

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
