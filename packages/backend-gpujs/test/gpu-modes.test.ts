/**
 * The gpu.js mode asked for is the mode that ran: every compiled kernel's class matches the
 * backend's mode (gpu.js may otherwise degrade a kernel to its CPU mode without failing).
 */
import * as T from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import type { GpujsBackend } from '../src/index.js';
import '../src/index.js';

const BACKENDS = (process.env.POLYMODAL_BACKENDS ?? 'gpujs-webasm,gpujs-cpu').split(',').filter(Boolean);
const EXPECTED: Record<string, string> = {
  'gpujs-webasm': 'WebAssemblyKernel',
  'gpujs-cpu': 'CPUKernel',
  'gpujs-headlessgl': 'HeadlessGLKernel',
  'gpujs-webgl2': 'WebGL2Kernel',
  'gpujs-webgl': 'WebGLKernel',
  'gpujs-webgpu': 'WebGPUKernel',
};

describe('gpu.js modes', () => {
  for (const name of BACKENDS.filter((b) => EXPECTED[b])) {
    it(`${name} runs every kernel as ${EXPECTED[name]}`, async () => {
      T.setBackend(name);
      const x = T.randn([4, 6], { seed: 1, requiresGrad: true });
      T.scope(() =>
        T.layerNorm(x.matmul(T.randn([6, 3], { seed: 2 })).relu(), [3])
          .softmax(-1)
          .sum()
          .backward(),
      );
      expect((await x.grad!.data()).length).toBe(24);
      x.grad!.dispose();
      x.dispose();
      const backend = T.ENGINE.findBackend(name) as GpujsBackend;
      const classes = backend.kernelClasses();
      expect(Object.keys(classes).length).toBeGreaterThan(5);
      for (const [kernel, cls] of Object.entries(classes))
        expect(`${kernel}: ${cls}`).toBe(`${kernel}: ${EXPECTED[name]}`);
      T.setBackend('cpu');
    });
  }
});
