import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

const cpu = (b: unknown) => b as CpuBackend;

/** `[N, C, L]` of a batch-norm input (the op reshapes any `[N, C, …]` to this). */
const dims = (shape: readonly number[]) => shape as [number, number, number];

/**
 * Fused batch normalization over x `[N, C, L]`, per channel c across its M = N·L values: one pass
 * each for the forward (after the statistics), the parameter sums and dx, instead of the dozen
 * kernels (transposes for the strided reductions, broadcasts, their gradients) of the composed op.
 * Sums accumulate in float64; the variance takes a second pass around the mean (no cancellation).
 */
export const batchNormKernels: KernelConfig[] = [
  {
    kernelName: 'BatchNormStats',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [x], backend }) => {
      const [n, c, l] = dims(x!.shape);
      const xs = cpu(backend).values(x!.dataId);
      const m = n * l;
      const mean = new Float64Array(c);
      const sq = new Float64Array(c);
      if (l === 1) {
        // [N, C] rows (BatchNorm1d over features): walk each row once per pass, every channel's sum in step.
        for (let at = 0; at < xs.length; at += c) for (let ch = 0; ch < c; ch++) mean[ch]! += xs[at + ch]!;
        for (let ch = 0; ch < c; ch++) mean[ch]! /= m;
        for (let at = 0; at < xs.length; at += c) {
          for (let ch = 0; ch < c; ch++) {
            const d = xs[at + ch]! - mean[ch]!;
            sq[ch]! += d * d;
          }
        }
      } else {
        for (let i = 0, at = 0; i < n; i++) {
          for (let ch = 0; ch < c; ch++, at += l) {
            let s = 0;
            for (let j = 0; j < l; j++) s += xs[at + j]!;
            mean[ch]! += s;
          }
        }
        for (let ch = 0; ch < c; ch++) mean[ch]! /= m;
        for (let i = 0, at = 0; i < n; i++) {
          for (let ch = 0; ch < c; ch++, at += l) {
            const mu = mean[ch]!;
            let s = 0;
            for (let j = 0; j < l; j++) {
              const d = xs[at + j]! - mu;
              s += d * d;
            }
            sq[ch]! += s;
          }
        }
      }
      const out = new Float32Array(2 * c);
      for (let ch = 0; ch < c; ch++) {
        out[ch] = mean[ch]!;
        out[c + ch] = sq[ch]! / m;
      }
      return cpu(backend).output(out, [2, c], 'float32');
    },
  },
  // y = x·scale + shift with scale = w·rstd, shift = b − mean·scale, per channel.
  cpuKernel('BatchNormTrain', ({ inputs: [x, w, b, stats], attrs, backend }) => {
    const { eps } = attrs;
    const [n, c, l] = dims(x!.shape);
    const xs = cpu(backend).values(x!.dataId);
    const ws = cpu(backend).values(w!.dataId);
    const bs = cpu(backend).values(b!.dataId);
    const ss = cpu(backend).values(stats!.dataId);
    const scale = new Float64Array(c);
    const shift = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      scale[ch] = ws[ch]! / Math.sqrt(ss[c + ch]! + eps);
      shift[ch] = bs[ch]! - ss[ch]! * scale[ch]!;
    }
    const out = cpu(backend).uninitializedFloat32(xs.length);
    if (l === 1) {
      for (let at = 0; at < xs.length; at += c)
        for (let ch = 0; ch < c; ch++) out[at + ch] = xs[at + ch]! * scale[ch]! + shift[ch]!;
    } else {
      for (let i = 0, at = 0; i < n; i++) {
        for (let ch = 0; ch < c; ch++, at += l) {
          const k = scale[ch]!;
          const t = shift[ch]!;
          for (let j = at; j < at + l; j++) out[j] = xs[j]! * k + t;
        }
      }
    }
    return cpu(backend).output(out, x!.shape, 'float32');
  }),
  // [2, C]: Σ dy·x̂ = rstd·(Σ dy·x − mean·Σ dy), and Σ dy, per channel.
  cpuKernel('BatchNormParamGrad', ({ inputs: [x, dy, stats], attrs, backend }) => {
    const { eps } = attrs;
    const [n, c, l] = dims(x!.shape);
    const xs = cpu(backend).values(x!.dataId);
    const gs = cpu(backend).values(dy!.dataId);
    const ss = cpu(backend).values(stats!.dataId);
    const sumGx = new Float64Array(c);
    const sumG = new Float64Array(c);
    if (l === 1) {
      for (let at = 0; at < xs.length; at += c) {
        for (let ch = 0; ch < c; ch++) {
          const g = gs[at + ch]!;
          sumG[ch]! += g;
          sumGx[ch]! += g * (xs[at + ch]! - ss[ch]!);
        }
      }
    }
    for (let i = 0, at = 0; l > 1 && i < n; i++) {
      for (let ch = 0; ch < c; ch++, at += l) {
        // Centred on the mean, so Σ dy·(x − mean) does not cancel for channels with a large mean.
        const mu = ss[ch]!;
        let sg = 0;
        let sgx = 0;
        for (let j = at; j < at + l; j++) {
          const g = gs[j]!;
          sg += g;
          sgx += g * (xs[j]! - mu);
        }
        sumG[ch]! += sg;
        sumGx[ch]! += sgx;
      }
    }
    const out = new Float32Array(2 * c);
    for (let ch = 0; ch < c; ch++) {
      out[ch] = sumGx[ch]! / Math.sqrt(ss[c + ch]! + eps);
      out[c + ch] = sumG[ch]!;
    }
    return cpu(backend).output(out, [2, c], 'float32');
  }),
  // dx = k·(dy − Σdy/M − x̂·Σ(dy·x̂)/M) with k = w·rstd, as dy·k + x·a + b per channel.
  cpuKernel('BatchNormGrad', ({ inputs: [x, w, dy, stats, sums], attrs, backend }) => {
    const { eps } = attrs;
    const [n, c, l] = dims(x!.shape);
    const m = n * l;
    const xs = cpu(backend).values(x!.dataId);
    const ws = cpu(backend).values(w!.dataId);
    const gs = cpu(backend).values(dy!.dataId);
    const ss = cpu(backend).values(stats!.dataId);
    const ps = cpu(backend).values(sums!.dataId);
    const k = new Float64Array(c);
    const a = new Float64Array(c);
    const b = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      const rstd = 1 / Math.sqrt(ss[c + ch]! + eps);
      k[ch] = ws[ch]! * rstd;
      a[ch] = (-k[ch]! * rstd * ps[ch]!) / m;
      b[ch] = -a[ch]! * ss[ch]! - (k[ch]! * ps[c + ch]!) / m;
    }
    const out = cpu(backend).uninitializedFloat32(xs.length);
    if (l === 1) {
      for (let at = 0; at < xs.length; at += c)
        for (let ch = 0; ch < c; ch++) out[at + ch] = gs[at + ch]! * k[ch]! + xs[at + ch]! * a[ch]! + b[ch]!;
    }
    for (let i = 0, at = 0; l > 1 && i < n; i++) {
      for (let ch = 0; ch < c; ch++, at += l) {
        const kc = k[ch]!;
        const ac = a[ch]!;
        const bc = b[ch]!;
        for (let j = at; j < at + l; j++) out[j] = gs[j]! * kc + xs[j]! * ac + bc;
      }
    }
    return cpu(backend).output(out, x!.shape, 'float32');
  }),
];
