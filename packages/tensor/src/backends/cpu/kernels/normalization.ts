import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';

const cpu = (b: unknown) => b as CpuBackend;

/**
 * Fused last-axis softmax and layerNorm: one pass per row instead of the five to eight kernels (and
 * their intermediate buffers) of the composed ops. Sums accumulate in float64.
 */
export const normalizationKernels: KernelConfig[] = [
  {
    kernelName: 'SoftmaxLastAxis',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [x], backend }) => {
      const xs = cpu(backend).values(x!.dataId);
      const d = x!.shape.at(-1) ?? 1;
      const out = new Float32Array(xs.length);
      for (let r = 0; r < xs.length; r += d) {
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < d; j++) if (xs[r + j]! > m) m = xs[r + j]!;
        if (m === Number.NEGATIVE_INFINITY) m = 0; // an all −∞ row: exp(−∞ − 0) = 0, then 0/0 as composed
        let s = 0;
        for (let j = 0; j < d; j++) {
          const e = Math.exp(xs[r + j]! - m);
          out[r + j] = e;
          s += e;
        }
        const inv = 1 / s;
        for (let j = 0; j < d; j++) out[r + j]! *= inv;
      }
      return cpu(backend).output(out, x!.shape, 'float32');
    },
  },
  {
    kernelName: 'LayerNormLastAxis',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [x, w, b], attrs, backend }) => {
      const { eps } = attrs as { eps: number };
      const xs = cpu(backend).values(x!.dataId);
      const ws = cpu(backend).values(w!.dataId);
      const bs = cpu(backend).values(b!.dataId);
      const d = x!.shape.at(-1) ?? 1;
      const out = new Float32Array(xs.length);
      for (let r = 0; r < xs.length; r += d) {
        let s = 0;
        for (let j = 0; j < d; j++) s += xs[r + j]!;
        const mu = s / d;
        let v = 0;
        for (let j = 0; j < d; j++) {
          const c = xs[r + j]! - mu;
          v += c * c;
        }
        const rstd = 1 / Math.sqrt(v / d + eps);
        for (let j = 0; j < d; j++) out[r + j] = (xs[r + j]! - mu) * rstd * ws[j]! + bs[j]!;
      }
      return cpu(backend).output(out, x!.shape, 'float32');
    },
  },
];
