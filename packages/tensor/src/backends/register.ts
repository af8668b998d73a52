import { ENGINE } from '../engine.js';
import { registerKernels } from '../kernel-registry.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { CPU_KERNELS } from './cpu/kernels/index.js';
import { detectGpujsMode, hasGpuMode } from './gpujs/detect.js';
import { GpujsBackend, type GpujsMode } from './gpujs/gpujs-backend.js';
import { gpujsKernelConfigs } from './gpujs/kernels/index.js';
import { WasmBackend } from './wasm/wasm-backend.js';
import { wasmKernelConfigs } from './wasm/wasm-kernels.js';

/** Every gpu.js mode, each also registered as its own backend (`gpujs-webasm`, …) for tests and benchmarks. */
export const GPUJS_MODES: readonly GpujsMode[] = ['headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu'];

let registered = false;

/**
 * Makes the built-in backends known to the engine (lazily: nothing is created until used).
 *
 * The default backend is `gpujs` where a GPU mode works (browser WebGL, headless-gl) and `wasm`
 * elsewhere: on a CPU it measures fastest (tooling/bench/results: 512² matmul at tens of GFLOP/s,
 * against about 1 for the TypeScript `cpu` kernels and below 1 for gpu.js's WebAssembly mode, which
 * runs one output cell per call of its kernel body). `wasm` shares the cpu backend's storage and
 * falls back to its kernels op by op, so it runs everything `cpu` runs.
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
  // WebAssembly SIMD kernels on the cpu backend's storage: `wasm` on every core, `wasm-1t` on one.
  const wasm = (name: string, threads: number | 'auto') => () => {
    registerKernels(wasmKernelConfigs(name));
    return new WasmBackend(name, threads);
  };
  ENGINE.registerBackend('wasm', wasm('wasm', 'auto'));
  ENGINE.registerBackend('wasm-1t', wasm('wasm-1t', 1));
  ENGINE.defaultBackendName = () => (hasGpuMode() ? 'gpujs' : 'wasm');
}
