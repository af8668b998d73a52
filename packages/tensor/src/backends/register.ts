import { ENGINE } from '../engine.js';
import { registerKernels } from '../kernel-registry.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { CPU_KERNELS } from './cpu/kernels/index.js';
import { detectGpujsMode, hasGpuMode } from './gpujs/detect.js';
import { GpujsBackend, type GpujsMode } from './gpujs/gpujs-backend.js';
import { gpujsKernelConfigs } from './gpujs/kernels/index.js';

/** Every gpu.js mode, each also registered as its own backend (`gpujs-webasm`, …) for tests and benchmarks. */
export const GPUJS_MODES: readonly GpujsMode[] = ['headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu'];

let registered = false;

/**
 * Makes the built-in backends known to the engine (lazily: nothing is created until used).
 *
 * The default backend is `gpujs` where a GPU mode works (browser WebGL, headless-gl) and `cpu`
 * elsewhere: on a CPU, our TypeScript kernels measure faster than gpu.js's WebAssembly and JS modes
 * (see tooling/bench results), because gpu.js computes one output cell per call of its kernel body.
 */
export function registerBuiltinBackends(): void {
  if (registered) return;
  registered = true;
  ENGINE.registerBackend('cpu', () => {
    registerKernels(CPU_KERNELS);
    return new CpuBackend();
  });
  const gpujs = (name: string, mode: () => GpujsMode) => () => {
    registerKernels(gpujsKernelConfigs(name));
    return new GpujsBackend(mode(), name);
  };
  ENGINE.registerBackend('gpujs', gpujs('gpujs', detectGpujsMode));
  for (const mode of GPUJS_MODES)
    ENGINE.registerBackend(
      `gpujs-${mode}`,
      gpujs(`gpujs-${mode}`, () => mode),
    );
  ENGINE.defaultBackendName = () => (hasGpuMode() ? 'gpujs' : 'cpu');
}
