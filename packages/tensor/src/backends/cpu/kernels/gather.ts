import type { KernelConfig } from '../../../kernel-registry.js';
import { contiguousStrides, sizeOf } from '../../../shape.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

const cpu = (b: unknown) => b as CpuBackend;

const around = (shape: readonly number[], axis: number): [number, number, number] => [
  sizeOf(shape.slice(0, axis)),
  shape[axis]!,
  sizeOf(shape.slice(axis + 1)),
];

/** Visits every position of `shape` in row-major order with its flat index and coordinates. */
function forEachIndex(shape: readonly number[], fn: (pos: number, coords: number[]) => void): void {
  const n = sizeOf(shape);
  const coords = new Array<number>(shape.length).fill(0);
  for (let p = 0; p < n; p++) {
    fn(p, coords);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++coords[d]! < shape[d]!) break;
      coords[d] = 0;
    }
  }
}

export const gatherKernels: KernelConfig[] = [
  cpuKernel('Gather', ({ inputs: [x, index], attrs, backend }) => {
    const { axis } = attrs;
    const [outer, n, inner] = around(x!.shape, axis);
    const idx = cpu(backend).values(index!.dataId);
    const xs = cpu(backend).values(x!.dataId);
    const shape = [...x!.shape];
    shape[axis] = idx.length;
    const out = cpu(backend).uninitializedOutput(x!.dtype, sizeOf(shape));
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < idx.length; k++) {
        const src = (o * n + idx[k]!) * inner;
        out.set(xs.subarray(src, src + inner), (o * idx.length + k) * inner);
      }
    }
    return cpu(backend).output(out, shape, x!.dtype);
  }),
  cpuKernel('IndexAdd', ({ inputs: [x, index, src], attrs, backend }) => {
    const { axis } = attrs;
    const [outer, n, inner] = around(x!.shape, axis);
    const idx = cpu(backend).values(index!.dataId);
    const out = cpu(backend).values(x!.dataId).slice();
    const sv = cpu(backend).values(src!.dataId);
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < idx.length; k++) {
        const dst = (o * n + idx[k]!) * inner;
        const s = (o * idx.length + k) * inner;
        for (let i = 0; i < inner; i++) out[dst + i]! += sv[s + i]!;
      }
    }
    return cpu(backend).output(out, x!.shape, x!.dtype);
  }),
  cpuKernel('GatherElements', ({ inputs: [x, index], attrs, backend }) => {
    const { axis } = attrs;
    const xs = cpu(backend).values(x!.dataId);
    const idx = cpu(backend).values(index!.dataId);
    const xStrides = contiguousStrides(x!.shape);
    const out = cpu(backend).uninitializedOutput(x!.dtype, idx.length);
    forEachIndex(index!.shape, (p, coords) => {
      let off = 0;
      for (let d = 0; d < coords.length; d++) off += (d === axis ? idx[p]! : coords[d]!) * xStrides[d]!;
      out[p] = xs[off]!;
    });
    return cpu(backend).output(out, index!.shape, x!.dtype);
  }),
  cpuKernel('ScatterAdd', ({ inputs: [x, index, src], attrs, backend }) => {
    const { axis } = attrs;
    const out = cpu(backend).values(x!.dataId).slice();
    const idx = cpu(backend).values(index!.dataId);
    const sv = cpu(backend).values(src!.dataId);
    const xStrides = contiguousStrides(x!.shape);
    const sStrides = contiguousStrides(src!.shape);
    forEachIndex(index!.shape, (p, coords) => {
      let off = 0;
      let soff = 0;
      for (let d = 0; d < coords.length; d++) {
        off += (d === axis ? idx[p]! : coords[d]!) * xStrides[d]!;
        soff += coords[d]! * sStrides[d]!;
      }
      out[off]! += sv[soff]!;
    });
    return cpu(backend).output(out, x!.shape, x!.dtype);
  }),
];
