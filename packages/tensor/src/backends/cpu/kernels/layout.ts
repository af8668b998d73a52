import type { KernelConfig } from '../../../kernel-registry.js';
import { broadcastStrides, contiguousStrides, sizeOf } from '../../../shape.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';
import { stridedCopy } from './strided.js';

const cpu = (b: unknown) => b as CpuBackend;

/**
 * Runs shorter than this are copied element by element: a `subarray` + `set` pair costs about
 * 100 ns whatever its length (CoordConv's concatenation appends 2 floats to each of 8,320 rows).
 */
const SHORT_RUN = 64;

/** `outer` runs of `row` floats from `src` into `out`, `rowOut` apart from `offset` (monomorphic on Float32Array). */
function copyShortRuns(
  src: Float32Array,
  out: Float32Array,
  outer: number,
  row: number,
  rowOut: number,
  offset: number,
): void {
  for (let o = 0, s = 0, d = offset; o < outer; o++, d += rowOut) {
    for (let j = 0; j < row; j++) out[d + j] = src[s++]!;
  }
}

export const layoutKernels: KernelConfig[] = [
  cpuKernel('Transpose', ({ inputs: [x], attrs, backend }) => {
    const { perm } = attrs;
    const strides = contiguousStrides(x!.shape);
    const shape = perm.map((p) => x!.shape[p]!);
    const out = cpu(backend).uninitializedOutput(x!.dtype, sizeOf(shape));
    stridedCopy(
      cpu(backend).values(x!.dataId),
      shape,
      perm.map((p) => strides[p]!),
      0,
      out,
    );
    return cpu(backend).output(out, shape, x!.dtype);
  }),
  cpuKernel('BroadcastTo', ({ inputs: [x], attrs, backend }) => {
    const { shape } = attrs;
    const out = cpu(backend).uninitializedOutput(x!.dtype, sizeOf(shape));
    stridedCopy(cpu(backend).values(x!.dataId), shape, broadcastStrides(x!.shape, shape), 0, out);
    return cpu(backend).output(out, shape, x!.dtype);
  }),
  cpuKernel('Slice', ({ inputs: [x], attrs, backend }) => {
    const { begin, size, step } = attrs;
    const strides = contiguousStrides(x!.shape);
    const offset = begin.reduce((s, b, i) => s + b * strides[i]!, 0);
    const out = cpu(backend).uninitializedOutput(x!.dtype, sizeOf(size));
    stridedCopy(
      cpu(backend).values(x!.dataId),
      size,
      strides.map((s, i) => s * step[i]!),
      offset,
      out,
    );
    return cpu(backend).output(out, size, x!.dtype);
  }),
  cpuKernel('Concat', ({ inputs, attrs, backend }) => {
    const { axis } = attrs;
    const first = inputs[0]!;
    const shape = [...first.shape];
    shape[axis] = inputs.reduce((s, t) => s + t.shape[axis]!, 0);
    const outer = sizeOf(first.shape.slice(0, axis));
    const inner = sizeOf(first.shape.slice(axis + 1));
    const out = cpu(backend).uninitializedOutput(first.dtype, sizeOf(shape));
    const rowOut = shape[axis]! * inner;
    let colOffset = 0;
    for (const t of inputs) {
      const v = cpu(backend).values(t.dataId);
      const row = t.shape[axis]! * inner;
      if (row >= SHORT_RUN) {
        for (let o = 0; o < outer; o++) out.set(v.subarray(o * row, (o + 1) * row), o * rowOut + colOffset);
      } else if (v instanceof Float32Array && out instanceof Float32Array) {
        copyShortRuns(v, out, outer, row, rowOut, colOffset);
      } else {
        for (let o = 0; o < outer; o++)
          for (let j = 0; j < row; j++) out[o * rowOut + colOffset + j] = v[o * row + j]!;
      }
      colOffset += row;
    }
    return cpu(backend).output(out, shape, first.dtype);
  }),
  cpuKernel('Pad', ({ inputs: [x], attrs, backend }) => {
    const { pads, value } = attrs;
    const shape = x!.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
    // A recycled buffer: the padding is written explicitly, zero included.
    const out = cpu(backend).uninitializedOutput(x!.dtype, sizeOf(shape)).fill(value);
    const xs = cpu(backend).values(x!.dataId);
    const outStrides = contiguousStrides(shape);
    const rank = x!.shape.length;
    if (xs.length === 0) return cpu(backend).output(out, shape, x!.dtype);
    if (rank === 0) {
      out[0] = xs[0]!;
      return cpu(backend).output(out, shape, x!.dtype);
    }
    const inner = x!.shape[rank - 1]!;
    const idx = new Array<number>(rank).fill(0);
    for (let start = 0; start < xs.length; start += inner) {
      let o = pads[rank - 1]![0];
      for (let d = 0; d < rank - 1; d++) o += (idx[d]! + pads[d]![0]) * outStrides[d]!;
      out.set(xs.subarray(start, start + inner), o);
      for (let d = rank - 2; d >= 0; d--) {
        if (++idx[d]! < x!.shape[d]!) break;
        idx[d] = 0;
      }
    }
    return cpu(backend).output(out, shape, x!.dtype);
  }),
];
