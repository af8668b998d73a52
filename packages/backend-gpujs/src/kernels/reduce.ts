import { REDUCE_KERNELS, reductionLayout } from '@polymodal/tensor/backend';
import { idiv } from '../kernel-source.js';
import { gpujsKernel, type KernelFactory } from './common.js';

/** Reduction over the middle of an [outer, r, inner] layout; the loop starts from the first entry. */
const ACCUMULATE = {
  Sum: { init: '0', first: 0, step: 's = s + v;' },
  Prod: { init: '1', first: 0, step: 's = s * v;' },
  Max: { init: 'x[base]', first: 1, step: 's = Math.max(s, v);' },
  Min: { init: 'x[base]', first: 1, step: 's = Math.min(s, v);' },
} as const;

const reduce: KernelFactory[] = REDUCE_KERNELS.map((kernelName) =>
  gpujsKernel(kernelName, (backend, [x], { axes }) => {
    const [, r, inner] = reductionLayout(x!.shape, axes);
    const a = ACCUMULATE[kernelName];
    const source = `function(x, r, inner) {
  const o = ${idiv('this.thread.x', 'inner')};
  const j = this.thread.x - o * inner;
  const base = o * r * inner + j;
  let s = ${a.init};
  for (let k = ${a.first}; k < r; k++) {
    const v = x[base + k * inner];
    ${a.step}
  }
  return s;
}`;
    const shape = x!.shape.filter((_, i) => !axes.includes(i));
    return backend.run(kernelName, source, shape, x!.dtype, [backend.arg(x!.dataId), r, inner]);
  }),
);

/**
 * Index of the extreme along the axis; the first NaN wins (PyTorch, NumPy), as in the cpu kernel.
 * NaN is detected with `v == v` only: false for NaN under IEEE (GLSL) and under WGSL's ordered
 * comparisons alike, where `v != v` is false for NaN too (measured in Chromium's WebGPU).
 */
const argReduce: KernelFactory[] = (['ArgMax', 'ArgMin'] as const).map((kernelName) =>
  gpujsKernel(kernelName, (backend, [x], { axis }) => {
    const [, r, inner] = reductionLayout(x!.shape, [axis]);
    const cmp = kernelName === 'ArgMax' ? '>' : '<';
    const source = `function(x, r, inner) {
  const o = ${idiv('this.thread.x', 'inner')};
  const j = this.thread.x - o * inner;
  const base = o * r * inner + j;
  let best = x[base];
  let arg = 0;
  let sawNaN = 1;
  if (best == best) {
    sawNaN = 0;
  }
  for (let k = 1; k < r; k++) {
    const v = x[base + k * inner];
    if (sawNaN == 0) {
      if (v == v) {
        if (v ${cmp} best) {
          best = v;
          arg = k;
        }
      } else {
        arg = k;
        sawNaN = 1;
      }
    }
  }
  return arg;
}`;
    const shape = x!.shape.filter((_, i) => i !== axis);
    return backend.run(kernelName, source, shape, 'int32', [backend.arg(x!.dataId), r, inner]);
  }),
);

export const reduceKernels: KernelFactory[] = [...reduce, ...argReduce];
