import type { TensorInfo } from '@polymodal/tensor';
import { sizeOf } from '@polymodal/tensor';
import { broadcastStrides, collapseDims, contiguousStrides } from '@polymodal/tensor/backend';
import type { GpujsBackend } from '../gpujs-backend.js';
import { decodeIndex, dot, idiv, MAX_DIMS, MAX_RANK, names, padLeft } from '../kernel-source.js';
import { gpujsKernel, type KernelFactory } from './common.js';

const R = MAX_DIMS;

/** out[i] = x[offset + Σ c_d·t_d]: transpose, broadcast and slice in one kernel (per merged rank). */
const stridedSource = (
  rank: number,
) => `function(x, offset, ${[...names('s', 1, rank), ...names('t', 0, rank)].join(', ')}) {
  ${decodeIndex('this.thread.x', rank)}
  return x[offset + ${dot('c', 't', rank)}];
}`;

function stridedCopy(
  backend: GpujsBackend,
  x: TensorInfo,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): TensorInfo | null {
  const merged = collapseDims(shape, [strides]);
  const rank = Math.max(merged.shape.length, 1);
  if (rank > MAX_RANK) return null;
  return backend.run(`StridedCopy/${rank}`, stridedSource(rank), shape, x.dtype, [
    backend.arg(x.dataId),
    offset,
    ...padLeft(merged.shape, 1, rank).slice(1),
    ...padLeft(merged.strides[0]!, 0, rank),
  ]);
}

/** Rows of a and b side by side: [outer, rowA] ⧺ [outer, rowB]. */
const CONCAT_SOURCE = `function(a, b, rowA, rowB) {
  const row = rowA + rowB;
  const o = ${idiv('this.thread.x', 'row')};
  const c = this.thread.x - o * row;
  return c < rowA ? a[o * rowA + c] : b[o * rowB + c - rowA];
}`;

const PAD_SOURCE = `function(x, value, ${[...names('s', 1, R), ...names('n', 0, R), ...names('p', 0, R), ...names('t', 0, R)].join(', ')}) {
  ${decodeIndex('this.thread.x', R)}
  const i0 = c0 - p0;
  const i1 = c1 - p1;
  const i2 = c2 - p2;
  const i3 = c3 - p3;
  if (i0 < 0 || i0 >= n0 || i1 < 0 || i1 >= n1 || i2 < 0 || i2 >= n2 || i3 < 0 || i3 >= n3) {
    return value;
  }
  return x[i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3];
}`;

export const layoutKernels: KernelFactory[] = [
  gpujsKernel('Transpose', (backend, [x], { perm }) => {
    const strides = contiguousStrides(x!.shape);
    return stridedCopy(
      backend,
      x!,
      perm.map((p) => x!.shape[p]!),
      perm.map((p) => strides[p]!),
      0,
    );
  }),
  gpujsKernel('BroadcastTo', (backend, [x], { shape }) =>
    stridedCopy(backend, x!, shape, broadcastStrides(x!.shape, shape), 0),
  ),
  gpujsKernel('Slice', (backend, [x], { begin, size, step }) => {
    const strides = contiguousStrides(x!.shape);
    const offset = begin.reduce((s, b, i) => s + b * strides[i]!, 0);
    return stridedCopy(
      backend,
      x!,
      size,
      strides.map((s, i) => s * step[i]!),
      offset,
    );
  }),
  gpujsKernel('Concat', (backend, inputs, { axis }) => {
    const first = inputs[0]!;
    const inner = sizeOf(first.shape.slice(axis + 1));
    // Pairwise from the left; intermediate results are freed as soon as they are consumed.
    let acc = first;
    let accLen = first.shape[axis]!;
    for (let i = 1; i < inputs.length; i++) {
      const t = inputs[i]!;
      const len = t.shape[axis]!;
      const shape = [...first.shape];
      shape[axis] = accLen + len;
      const next = backend.run('Concat', CONCAT_SOURCE, shape, first.dtype, [
        backend.arg(acc.dataId),
        backend.arg(t.dataId),
        accLen * inner,
        len * inner,
      ]);
      if (acc !== first) backend.disposeData(acc.dataId);
      acc = next;
      accLen += len;
    }
    return acc;
  }),
  gpujsKernel('Pad', (backend, [x], { pads, value }) => {
    // Leading dims without padding merge into one, so most pads fit MAX_DIMS.
    let lead = 0;
    while (lead < pads.length - 1 && pads[lead]![0] === 0 && pads[lead]![1] === 0) lead++;
    const inShape = [sizeOf(x!.shape.slice(0, lead)), ...x!.shape.slice(lead)];
    const padList = [[0, 0] as [number, number], ...pads.slice(lead)];
    if (inShape.length > R) return null;
    const n = padLeft(inShape, 1);
    const before = padLeft(
      padList.map((p) => p[0]),
      0,
    );
    const outDims = n.map(
      (d, i) =>
        d +
        before[i]! +
        (padLeft(
          padList.map((p) => p[1]),
          0,
        )[i] ?? 0),
    );
    const outShape = x!.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
    return backend.run('Pad', PAD_SOURCE, outShape, x!.dtype, [
      backend.arg(x!.dataId),
      value,
      ...outDims.slice(1),
      ...n,
      ...before,
      ...contiguousStrides(n),
    ]);
  }),
];
