import { ENGINE, registerBackend, registerKernels } from '@polymodal/tensor';
import { detectGpujsMode } from './detect.js';
import { GpujsBackend, type GpujsMode } from './gpujs-backend.js';
import { gpujsKernelConfigs } from './kernels/index.js';

/** Every gpu.js mode, each also registered as its own backend (`gpujs-webasm`, …) for tests and benchmarks. */
export const GPUJS_MODES: readonly GpujsMode[] = ['headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu'];

/**
 * Registers `gpujs` (the best synchronous gpu.js mode here, `detectGpujsMode`) and one backend per
 * mode (`gpujs-webgl2`, `gpujs-headlessgl`, …) with @polymodal/tensor; nothing is created until
 * used. Runs once when the package is imported; calling it again does nothing.
 */
export function registerGpujsBackends(): void {
  if (ENGINE.registeredBackends().includes('gpujs')) return;
  const gpujs = (name: string, mode: () => GpujsMode) => () => {
    registerKernels(gpujsKernelConfigs(name));
    return new GpujsBackend(mode(), name);
  };
  registerBackend('gpujs', gpujs('gpujs', detectGpujsMode));
  for (const mode of GPUJS_MODES)
    registerBackend(
      `gpujs-${mode}`,
      gpujs(`gpujs-${mode}`, () => mode),
    );
}
