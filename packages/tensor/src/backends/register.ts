import { selectBackendSync } from '../backend-selection.js';
import { ENGINE } from '../engine.js';
import { registerKernels } from '../kernel-registry.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { CPU_KERNELS } from './cpu/kernels/index.js';
import { WasmBackend } from './wasm/wasm-backend.js';
import { wasmKernelConfigs } from './wasm/wasm-kernels.js';

let registered = false;

/**
 * Makes the built-in backends known to the engine (lazily: nothing is created until used): `cpu`,
 * the TypeScript reference, and `wasm`, WebAssembly SIMD kernels on the cpu backend's storage
 * (tens of GFLOP/s on a 512² matmul against about 1 for `cpu`; tooling/bench/results). `wasm`
 * falls back to the cpu kernels op by op, so it runs everything `cpu` runs. GPU backends live in
 * their own packages (`@polymodal/backend-gpujs`), which register themselves when imported, as
 * candidates for the measured default.
 */
export function registerBuiltinBackends(): void {
  if (registered) return;
  registered = true;
  ENGINE.registerBackend('cpu', () => {
    registerKernels(CPU_KERNELS);
    return new CpuBackend();
  });
  // WebAssembly SIMD kernels on the cpu backend's storage: `wasm` on every core, `wasm-1t` on one.
  const wasm = (name: string, threads: number | 'auto') => () => {
    registerKernels(wasmKernelConfigs(name));
    return new WasmBackend(name, threads);
  };
  ENGINE.registerBackend('wasm', wasm('wasm', 'auto'), { autoSelect: true });
  ENGINE.registerBackend('wasm-1t', wasm('wasm-1t', 1));
  // The default: `wasm` alone, unmeasured; measured against GPU backends that packages register
  // with `autoSelect` (backend-selection.ts).
  ENGINE.defaultBackendName = selectBackendSync;
}
