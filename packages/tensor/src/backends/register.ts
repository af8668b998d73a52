import { ENGINE } from '../engine.js';
import { registerKernels } from '../kernel-registry.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { CPU_KERNELS } from './cpu/kernels/index.js';

let registered = false;

/**
 * Makes the built-in backends known to the engine (lazily: nothing is created until used).
 * Called by the public entry points, so importing the package has no side effects.
 */
export function registerBuiltinBackends(): void {
  if (registered) return;
  registered = true;
  ENGINE.registerBackend('cpu', () => {
    registerKernels(CPU_KERNELS);
    return new CpuBackend();
  });
}
