import { REDUCE_KERNELS } from '../../../kernel-names.js';
import type { KernelConfig } from '../../../kernel-registry.js';
import { sizeOf } from '../../../shape.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

const cpu = (b: unknown) => b as CpuBackend;

/** Splits a shape around a contiguous block of axes into [outer, reduced, inner]. */
export function reductionLayout(shape: readonly number[], axes: readonly number[]): [number, number, number] {
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  return [sizeOf(shape.slice(0, first)), sizeOf(shape.slice(first, last + 1)), sizeOf(shape.slice(last + 1))];
}

const INIT = { Sum: 0, Prod: 1, Max: Number.NEGATIVE_INFINITY, Min: Number.POSITIVE_INFINITY } as const;

const reduceKernels: KernelConfig[] = REDUCE_KERNELS.map((kernelName) =>
  cpuKernel(kernelName, ({ inputs: [x], attrs, backend }) => {
    const { axes } = attrs;
    const [outer, r, inner] = reductionLayout(x!.shape, axes);
    const xs = cpu(backend).values(x!.dataId);
    const out = cpu(backend).uninitializedOutput(x!.dtype, outer * inner);
    const init = INIT[kernelName];
    if (kernelName === 'Sum' && inner > 1) {
      // Row by row into float64 partial sums: sequential reads instead of a stride of `inner` per
      // element (bias gradients sum [rows, features] over rows). Each output still adds its inputs
      // in order k = 0..r−1 in float64, so the result is the same as the strided loop below.
      const acc = new Float64Array(inner);
      for (let o = 0; o < outer; o++) {
        acc.fill(0);
        for (let k = 0, p = o * r * inner; k < r; k++, p += inner) {
          for (let i = 0; i < inner; i++) acc[i]! += xs[p + i]!;
        }
        for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i]!;
      }
      return cpu(backend).output(
        out,
        x!.shape.filter((_, i) => !axes.includes(i)),
        x!.dtype,
      );
    }
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc: number = init;
        let p = o * r * inner + i;
        if (kernelName === 'Sum') for (let k = 0; k < r; k++, p += inner) acc += xs[p]!;
        else if (kernelName === 'Prod') for (let k = 0; k < r; k++, p += inner) acc *= xs[p]!;
        else if (kernelName === 'Max') {
          for (let k = 0; k < r; k++, p += inner) {
            const v = xs[p]!;
            if (v > acc || Number.isNaN(v)) acc = v;
          }
        } else {
          for (let k = 0; k < r; k++, p += inner) {
            const v = xs[p]!;
            if (v < acc || Number.isNaN(v)) acc = v;
          }
        }
        out[o * inner + i] = acc;
      }
    }
    return cpu(backend).output(
      out,
      x!.shape.filter((_, i) => !axes.includes(i)),
      x!.dtype,
    );
  }),
);

const argKernels: KernelConfig[] = (['ArgMax', 'ArgMin'] as const).map((kernelName) =>
  cpuKernel(kernelName, ({ inputs: [x], attrs, backend }) => {
    const { axis } = attrs;
    const [outer, r, inner] = reductionLayout(x!.shape, [axis]);
    const xs = cpu(backend).values(x!.dataId);
    const out = new Int32Array(outer * inner);
    const better =
      kernelName === 'ArgMax' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
    // NaN wins, and the first one found stays (PyTorch and NumPy): a diverged model's NaN logits
    // must not yield a confident index.
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let p = o * r * inner + i;
        let best = xs[p]!;
        let arg = 0;
        for (let k = 1; k < r && !Number.isNaN(best); k++) {
          p += inner;
          const v = xs[p]!;
          if (Number.isNaN(v) || better(v, best)) {
            best = v;
            arg = k;
          }
        }
        out[o * inner + i] = arg;
      }
    }
    return cpu(backend).output(
      out,
      x!.shape.filter((_, i) => i !== axis),
      'int32',
    );
  }),
);

export const reduceKernelConfigs: KernelConfig[] = [...reduceKernels, ...argKernels];
