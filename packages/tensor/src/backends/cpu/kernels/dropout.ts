import type { KernelConfig } from '../../../kernel-registry.js';
import { Generator } from '../../../random.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

/** Draws per `fillUniform` call: the scratch stays small whatever the input's size. */
const CHUNK = 16384;

/**
 * Fused inverted dropout: `x · mask` with mask i = `scale` where the generator's i-th uniform draw
 * is ≥ p, else 0 — the values the composed op (mask array, then Mul) gives, with no mask tensor.
 * Applied to dy with the same state it is its own backward.
 */
export const dropoutKernels: KernelConfig[] = [
  cpuKernel('Dropout', ({ inputs: [x], attrs: { p, stateHi, stateLo }, backend }) => {
    const xs = (backend as CpuBackend).values(x!.dataId);
    const out = (backend as CpuBackend).uninitializedFloat32(xs.length);
    const scale = Math.fround(1 / (1 - p));
    const g = new Generator().setState({ hi: stateHi, lo: stateLo, spareNormal: null });
    const draws = new Float32Array(Math.min(CHUNK, xs.length));
    for (let at = 0; at < xs.length; at += CHUNK) {
      const n = Math.min(CHUNK, xs.length - at);
      g.fillUniform(n === draws.length ? draws : draws.subarray(0, n));
      for (let i = 0; i < n; i++) out[at + i] = xs[at + i]! * (draws[i]! >= p ? scale : 0);
    }
    return (backend as CpuBackend).output(out, x!.shape, 'float32');
  }),
];
