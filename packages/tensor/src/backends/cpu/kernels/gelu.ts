import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

const cpu = (b: unknown) => b as CpuBackend;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Φ(x), the standard normal CDF, by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): Φ(−|x|) =
 * ½·P(t)·t·e^{−x²/2} with t = 1/(1 + p·|x|/√2), so the tail for x < 0 keeps its relative accuracy
 * (computing 1 + erf(x/√2) would cancel). `e` is e^{−x²/2}, shared with φ in the backward pass.
 * The wasm backend's SIMD kernel uses the same formula in float32 (generate-wasm-module.mjs).
 */
function phi(x: number, e: number): number {
  const t = 1 / (1 + 0.3275911 * Math.SQRT1_2 * Math.abs(x));
  const q =
    0.5 * ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * e;
  return x >= 0 ? 1 - q : q;
}

/**
 * Fused GELU (Hendrycks & Gimpel 2016) and its backward: one pass each instead of the five
 * forward and about ten backward kernels of the composed form (mul, erf, add, mul, mul).
 * `approximate: 'tanh'` is the GPT-2/BERT form `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
 */
export const geluKernels: KernelConfig[] = [
  cpuKernel('Gelu', ({ inputs: [x], attrs, backend }) => {
    const { approximate } = attrs;
    const xs = cpu(backend).values(x!.dataId);
    const out = cpu(backend).uninitializedFloat32(xs.length);
    if (approximate === 'tanh') {
      for (let i = 0; i < xs.length; i++) {
        const v = xs[i]!;
        out[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
      }
    } else {
      for (let i = 0; i < xs.length; i++) {
        const v = xs[i]!;
        out[i] = v * phi(v, Math.exp(-0.5 * v * v));
      }
    }
    return cpu(backend).output(out, x!.shape, 'float32');
  }),
  // dx = dy · (Φ(x) + x·φ(x)); tanh form: dy · (½(1 + tanh u) + ½x(1 − tanh²u)·u'), u' = √(2/π)(1 + 3·0.044715x²).
  cpuKernel('GeluGrad', ({ inputs: [x, dy], attrs, backend }) => {
    const { approximate } = attrs;
    const xs = cpu(backend).values(x!.dataId);
    const gs = cpu(backend).values(dy!.dataId);
    const out = cpu(backend).uninitializedFloat32(xs.length);
    if (approximate === 'tanh') {
      for (let i = 0; i < xs.length; i++) {
        const v = xs[i]!;
        const th = Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v));
        const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
        out[i] = gs[i]! * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * du);
      }
    } else {
      for (let i = 0; i < xs.length; i++) {
        const v = xs[i]!;
        const e = Math.exp(-0.5 * v * v);
        // x·φ(x) → 0 as |x| → ∞ (e underflows to 0 first; ∞·0 would give NaN).
        out[i] = gs[i]! * (phi(v, e) + (e === 0 ? 0 : v * e * INV_SQRT_2PI));
      }
    }
    return cpu(backend).output(out, x!.shape, 'float32');
  }),
];
