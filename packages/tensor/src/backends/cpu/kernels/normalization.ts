import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

const cpu = (b: unknown) => b as CpuBackend;

/** Mean and 1/√(var + eps) of each row of length d (float64 sums, the biased variance). */
function rowStats(xs: ArrayLike<number>, d: number, eps: number): Float64Array {
  const rows = xs.length / d;
  const stats = new Float64Array(2 * rows);
  for (let r = 0, at = 0; r < rows; r++, at += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += xs[at + j]!;
    const mu = s / d;
    let v = 0;
    for (let j = 0; j < d; j++) {
      const c = xs[at + j]! - mu;
      v += c * c;
    }
    stats[2 * r] = mu;
    stats[2 * r + 1] = 1 / Math.sqrt(v / d + eps);
  }
  return stats;
}

/**
 * Fused last-axis softmax and layerNorm, their backward passes and relu's: one pass instead of
 * the three to fifteen kernels (and their intermediate buffers) of the composed ops. Sums
 * accumulate in float64.
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
  cpuKernel('LayerNormLastAxis', ({ inputs: [x, w, b], attrs, backend }) => {
    const { eps } = attrs;
    const xs = cpu(backend).values(x!.dataId);
    const ws = cpu(backend).values(w!.dataId);
    const bs = cpu(backend).values(b!.dataId);
    const d = x!.shape.at(-1) ?? 1;
    const out = new Float32Array(xs.length);
    const stats = rowStats(xs, d, eps);
    for (let r = 0, at = 0; at < xs.length; r++, at += d) {
      const mu = stats[2 * r]!;
      const rstd = stats[2 * r + 1]!;
      for (let j = 0; j < d; j++) out[at + j] = (xs[at + j]! - mu) * rstd * ws[j]! + bs[j]!;
    }
    return cpu(backend).output(out, x!.shape, 'float32');
  }),
  {
    // One pass instead of three kernels (x > 0, cast, multiply); NaN in x gives 0 like the composed form.
    kernelName: 'ReluGrad',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [x, dy], backend }) => {
      const xs = cpu(backend).values(x!.dataId);
      const gs = cpu(backend).values(dy!.dataId);
      const out = cpu(backend).uninitializedFloat32(xs.length);
      for (let i = 0; i < xs.length; i++) out[i] = xs[i]! > 0 ? gs[i]! : 0;
      return cpu(backend).output(out, x!.shape, 'float32');
    },
  },
  {
    // dx = y · (dy − Σ dy·y), per row.
    kernelName: 'SoftmaxLastAxisGrad',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [y, dy], backend }) => {
      const ys = cpu(backend).values(y!.dataId);
      const gs = cpu(backend).values(dy!.dataId);
      const d = y!.shape.at(-1) ?? 1;
      const out = cpu(backend).uninitializedFloat32(ys.length);
      for (let at = 0; at < ys.length; at += d) {
        let s = 0;
        for (let j = 0; j < d; j++) s += gs[at + j]! * ys[at + j]!;
        for (let j = 0; j < d; j++) out[at + j] = ys[at + j]! * (gs[at + j]! - s);
      }
      return cpu(backend).output(out, y!.shape, 'float32');
    },
  },
  // dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)) with g = dy · w and x̂ recomputed from x.
  cpuKernel('LayerNormLastAxisGrad', ({ inputs: [x, w, dy], attrs, backend }) => {
    const { eps } = attrs;
    const xs = cpu(backend).values(x!.dataId);
    const ws = cpu(backend).values(w!.dataId);
    const gs = cpu(backend).values(dy!.dataId);
    const d = x!.shape.at(-1) ?? 1;
    const stats = rowStats(xs, d, eps);
    const out = new Float32Array(xs.length);
    for (let r = 0, at = 0; at < xs.length; r++, at += d) {
      const mu = stats[2 * r]!;
      const rstd = stats[2 * r + 1]!;
      let gMean = 0;
      let gxMean = 0;
      for (let j = 0; j < d; j++) {
        const g = gs[at + j]! * ws[j]!;
        gMean += g;
        gxMean += g * (xs[at + j]! - mu) * rstd;
      }
      gMean /= d;
      gxMean /= d;
      for (let j = 0; j < d; j++) {
        const xhat = (xs[at + j]! - mu) * rstd;
        out[at + j] = rstd * (gs[at + j]! * ws[j]! - gMean - xhat * gxMean);
      }
    }
    return cpu(backend).output(out, x!.shape, 'float32');
  }),
  // [2, d]: row 0 the weight gradient Σ dy·x̂, row 1 the bias gradient Σ dy, over every row of x.
  cpuKernel('LayerNormLastAxisParamGrad', ({ inputs: [x, dy], attrs, backend }) => {
    const { eps } = attrs;
    const xs = cpu(backend).values(x!.dataId);
    const gs = cpu(backend).values(dy!.dataId);
    const d = x!.shape.at(-1) ?? 1;
    const stats = rowStats(xs, d, eps);
    const sums = new Float64Array(2 * d);
    for (let r = 0, at = 0; at < xs.length; r++, at += d) {
      const mu = stats[2 * r]!;
      const rstd = stats[2 * r + 1]!;
      for (let j = 0; j < d; j++) {
        sums[j]! += gs[at + j]! * (xs[at + j]! - mu) * rstd;
        sums[d + j]! += gs[at + j]!;
      }
    }
    return cpu(backend).output(Float32Array.from(sums), [2, d], 'float32');
  }),
];
