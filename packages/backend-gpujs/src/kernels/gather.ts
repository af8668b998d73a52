import { sizeOf } from '@polymodal/tensor';
import { contiguousStrides } from '@polymodal/tensor/backend';
import { decodeIndex, idiv, MAX_DIMS, names, padLeft } from '../kernel-source.js';
import { gpujsKernel, type KernelFactory } from './common.js';

const R = MAX_DIMS;

const GATHER_SOURCE = `function(x, index, n, count, inner) {
  const ci = count * inner;
  const o = ${idiv('this.thread.x', 'ci')};
  const r = this.thread.x - o * ci;
  const k = ${idiv('r', 'inner')};
  const j = r - k * inner;
  return x[(o * n + index[k]) * inner + j];
}`;

/** out[o, r, j] = x[o, r, j] + Σ_{k : index[k] = r} src[o, k, j] (scatter written as a gather). */
const INDEX_ADD_SOURCE = `function(x, index, src, n, count, inner) {
  const ni = n * inner;
  const o = ${idiv('this.thread.x', 'ni')};
  const rest = this.thread.x - o * ni;
  const r = ${idiv('rest', 'inner')};
  const j = rest - r * inner;
  let s = x[this.thread.x];
  for (let k = 0; k < count; k++) {
    if (index[k] == r) {
      s = s + src[(o * count + k) * inner + j];
    }
  }
  return s;
}`;

/** Coordinates of the index tensor, with the `axis` coordinate replaced by the index value. */
const GATHER_ELEMENTS_SOURCE = `function(x, index, axis, ${[...names('s', 1, R), ...names('t', 0, R)].join(', ')}) {
  ${decodeIndex('this.thread.x', R)}
  const v = index[this.thread.x];
  const d0 = axis == 0 ? v : c0;
  const d1 = axis == 1 ? v : c1;
  const d2 = axis == 2 ? v : c2;
  const d3 = axis == 3 ? v : c3;
  return x[d0 * t0 + d1 * t1 + d2 * t2 + d3 * t3];
}`;

/**
 * Scatter-add as a gather: each output cell walks the index entries that share its coordinates off
 * `axis` and adds the src values whose index points at it.
 */
const SCATTER_ADD_SOURCE = `function(x, index, src, axis, ${[...names('s', 1, R), ...names('m', 0, R), ...names('u', 0, R), ...names('w', 0, R)].join(', ')}) {
  ${decodeIndex('this.thread.x', R)}
  let s = x[this.thread.x];
  const inside = (axis == 0 || c0 < m0) && (axis == 1 || c1 < m1) && (axis == 2 || c2 < m2) && (axis == 3 || c3 < m3);
  if (inside) {
    const len = axis == 0 ? m0 : (axis == 1 ? m1 : (axis == 2 ? m2 : m3));
    const base = (axis == 0 ? 0 : c0 * u0) + (axis == 1 ? 0 : c1 * u1) + (axis == 2 ? 0 : c2 * u2) + (axis == 3 ? 0 : c3 * u3);
    const sbase = (axis == 0 ? 0 : c0 * w0) + (axis == 1 ? 0 : c1 * w1) + (axis == 2 ? 0 : c2 * w2) + (axis == 3 ? 0 : c3 * w3);
    const ustep = axis == 0 ? u0 : (axis == 1 ? u1 : (axis == 2 ? u2 : u3));
    const wstep = axis == 0 ? w0 : (axis == 1 ? w1 : (axis == 2 ? w2 : w3));
    const target = axis == 0 ? c0 : (axis == 1 ? c1 : (axis == 2 ? c2 : c3));
    for (let k = 0; k < len; k++) {
      if (index[base + k * ustep] == target) {
        s = s + src[sbase + k * wstep];
      }
    }
  }
  return s;
}`;

export const gatherKernels: KernelFactory[] = [
  gpujsKernel('Gather', (backend, [x, index], { axis }) => {
    const count = index!.shape[0]!;
    const shape = [...x!.shape];
    shape[axis] = count;
    return backend.run('Gather', GATHER_SOURCE, shape, x!.dtype, [
      backend.arg(x!.dataId),
      backend.arg(index!.dataId),
      x!.shape[axis]!,
      count,
      sizeOf(x!.shape.slice(axis + 1)),
    ]);
  }),
  gpujsKernel('IndexAdd', (backend, [x, index, src], { axis }) =>
    backend.run('IndexAdd', INDEX_ADD_SOURCE, x!.shape, x!.dtype, [
      backend.arg(x!.dataId),
      backend.arg(index!.dataId),
      backend.arg(src!.dataId),
      x!.shape[axis]!,
      index!.shape[0]!,
      sizeOf(x!.shape.slice(axis + 1)),
    ]),
  ),
  gpujsKernel('GatherElements', (backend, [x, index], { axis }) => {
    if (x!.shape.length > R) return null;
    const lead = R - x!.shape.length;
    const dims = padLeft(index!.shape, 1);
    return backend.run('GatherElements', GATHER_ELEMENTS_SOURCE, index!.shape, x!.dtype, [
      backend.arg(x!.dataId),
      backend.arg(index!.dataId),
      axis + lead,
      ...dims.slice(1),
      ...padLeft(contiguousStrides(x!.shape), 0),
    ]);
  }),
  gpujsKernel('ScatterAdd', (backend, [x, index, src], { axis }) => {
    if (x!.shape.length > R) return null;
    const lead = R - x!.shape.length;
    return backend.run('ScatterAdd', SCATTER_ADD_SOURCE, x!.shape, x!.dtype, [
      backend.arg(x!.dataId),
      backend.arg(index!.dataId),
      backend.arg(src!.dataId),
      axis + lead,
      ...padLeft(x!.shape, 1).slice(1),
      ...padLeft(index!.shape, 1),
      ...padLeft(contiguousStrides(index!.shape), 0),
      ...padLeft(contiguousStrides(src!.shape), 0),
    ]);
  }),
];
