import { ENGINE, registerBackend, registerKernels } from '@polymodal/tensor';
import { detectGpujsMode, hasGpuMode } from './detect.js';
import { GpujsBackend, type GpujsMode } from './gpujs-backend.js';
import { gpujsKernelConfigs } from './kernels/index.js';

/** Every gpu.js mode, each also registered as its own backend (`gpujs-webasm`, …) for tests and benchmarks. */
export const GPUJS_MODES: readonly GpujsMode[] = ['headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu'];

/**
 * Registers `gpujs` (the best synchronous gpu.js mode here, `detectGpujsMode`) and one backend per
 * mode (`gpujs-webgl2`, `gpujs-headlessgl`, …) with @polymodal/tensor; nothing is created until
 * used. Where a hardware GPU mode works, `gpujs` joins the measured choice of the default backend
 * (first use or `await ready()`): it becomes the default only if its matmul beats `wasm`. Runs once
 * when the package is imported; calling it again does nothing.
 */
export function registerGpujsBackends(): void {
  if (ENGINE.registeredBackends().includes('gpujs')) return;
  const gpujs = (name: string, mode: () => GpujsMode) => () => {
    registerKernels(gpujsKernelConfigs(name));
    return new GpujsBackend(mode(), name);
  };
  // A candidate for the measured default only where a GPU mode works (WebGL2/WebGL, headless-gl),
  // and never when that GL is a software rasteriser: gpu.js's CPU modes are slower than wasm.
  registerBackend('gpujs', gpujs('gpujs', detectGpujsMode), {
    autoSelect: hasGpuMode(),
    isSoftware: (b) => (b as GpujsBackend).isSoftwareRenderer(),
  });
  for (const mode of GPUJS_MODES)
    registerBackend(
      `gpujs-${mode}`,
      gpujs(`gpujs-${mode}`, () => mode),
    );
}
