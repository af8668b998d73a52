import type { ConvGeometry } from '../../../kernel-names.js';
import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

const cpu = (b: unknown) => b as CpuBackend;

/** Output length of a convolution along one axis. */
export const outSize = (size: number, k: number, s: number, p: number) =>
  Math.floor((size + 2 * p - k) / s) + 1;

/** The output columns whose tap `kj` falls inside a row of `width` are x in [x0, x1). */
const columnStart = (ow: number, kj: number, sW: number, padW: number) =>
  Math.min(ow, Math.max(0, Math.ceil((padW - kj) / sW)));
const columnEnd = (width: number, ow: number, x0: number, kj: number, sW: number, padW: number) =>
  Math.max(x0, Math.min(ow, Math.floor((width - 1 + padW - kj) / sW) + 1));

/** Where one image's columns go: its first entry, and the distance between column rows. */
interface ColumnPlace {
  offset: number;
  rowStride: number;
}

/**
 * im2col for one image: column row r = (c, ki, kj) and output position (y, x) read the input tap
 * (c, y·sH − pH + ki, x·sW − pW + kj); taps in the padding read `padValue`. Row r starts at
 * `offset + r·rowStride`. Plain loops with the row bounds hoisted, and one function per direction
 * on Float32Arrays only: a shared walk with a direction flag and untyped arrays ran 4–9× slower
 * (7–18 ns per element against about 2).
 */
function gatherTaps(
  img: Float32Array,
  imageOffset: number,
  col: Float32Array,
  place: ColumnPlace,
  channels: number,
  height: number,
  width: number,
  g: ConvGeometry,
  padValue: number,
): void {
  const { kernelH, kernelW, strideH, strideW: sW, padH, padW } = g;
  const oh = outSize(height, kernelH, strideH, padH);
  const ow = outSize(width, kernelW, sW, padW);
  for (let c = 0, r = 0; c < channels; c++) {
    for (let ki = 0; ki < kernelH; ki++) {
      for (let kj = 0; kj < kernelW; kj++, r++) {
        const x0 = columnStart(ow, kj, sW, padW);
        const x1 = columnEnd(width, ow, x0, kj, sW, padW);
        let o = place.offset + r * place.rowStride;
        for (let y = 0; y < oh; y++, o += ow) {
          const iy = y * strideH - padH + ki;
          if (iy < 0 || iy >= height) {
            col.fill(padValue, o, o + ow);
            continue;
          }
          let x = 0;
          for (; x < x0; x++) col[o + x] = padValue;
          for (let s = imageOffset + (c * height + iy) * width - padW + kj + x * sW; x < x1; x++, s += sW)
            col[o + x] = img[s]!;
          for (; x < ow; x++) col[o + x] = padValue;
        }
      }
    }
  }
}

/** col2im for one image, the adjoint of `gatherTaps`: every in-image tap of `col` is added into `img`. */
function scatterTaps(
  img: Float32Array,
  imageOffset: number,
  col: Float32Array,
  place: ColumnPlace,
  channels: number,
  height: number,
  width: number,
  g: ConvGeometry,
): void {
  const { kernelH, kernelW, strideH, strideW: sW, padH, padW } = g;
  const oh = outSize(height, kernelH, strideH, padH);
  const ow = outSize(width, kernelW, sW, padW);
  for (let c = 0, r = 0; c < channels; c++) {
    for (let ki = 0; ki < kernelH; ki++) {
      for (let kj = 0; kj < kernelW; kj++, r++) {
        const x0 = columnStart(ow, kj, sW, padW);
        const x1 = columnEnd(width, ow, x0, kj, sW, padW);
        let o = place.offset + r * place.rowStride;
        for (let y = 0; y < oh; y++, o += ow) {
          const iy = y * strideH - padH + ki;
          if (iy < 0 || iy >= height) continue;
          for (
            let x = x0, s = imageOffset + (c * height + iy) * width - padW + kj + x0 * sW;
            x < x1;
            x++, s += sW
          )
            img[s]! += col[o + x]!;
        }
      }
    }
  }
}

/**
 * Image b's columns: `[N, K, L]` puts them in a block of their own (rows L apart); with
 * `batchInColumns`, `[K, N·L]` puts image b's L entries of each row side by side with the others'.
 */
const placeOf = (b: number, n: number, rows: number, l: number, batchInColumns: boolean): ColumnPlace =>
  batchInColumns ? { offset: b * l, rowStride: n * l } : { offset: b * rows * l, rowStride: l };

/** A float32 view of a buffer (conv kernels only see float32 tensors). */
const f32 = (v: ArrayLike<number>): Float32Array => (v instanceof Float32Array ? v : Float32Array.from(v));

export const convKernels: KernelConfig[] = [
  cpuKernel('Im2Col', ({ inputs: [x], attrs: g, backend }) => {
    const [n, c, h, w] = x!.shape as [number, number, number, number];
    const l = outSize(h, g.kernelH, g.strideH, g.padH) * outSize(w, g.kernelW, g.strideW, g.padW);
    const rows = c * g.kernelH * g.kernelW;
    const xs = f32(cpu(backend).values(x!.dataId));
    // Every element is written (taps or padValue): a recycled buffer will do.
    const out = cpu(backend).uninitializedFloat32(n * rows * l);
    for (let b = 0; b < n; b++) {
      gatherTaps(xs, b * c * h * w, out, placeOf(b, n, rows, l, g.batchInColumns), c, h, w, g, g.padValue);
    }
    return cpu(backend).output(out, g.batchInColumns ? [rows, n * l] : [n, rows, l], 'float32');
  }),
  cpuKernel('Col2Im', ({ inputs: [cols], attrs: g, backend }) => {
    const { channels: c, height: h, width: w } = g;
    const l = outSize(h, g.kernelH, g.strideH, g.padH) * outSize(w, g.kernelW, g.strideW, g.padW);
    const rows = c * g.kernelH * g.kernelW;
    const n = g.batchInColumns ? cols!.shape[1]! / l : cols!.shape[0]!;
    const cs = f32(cpu(backend).values(cols!.dataId));
    // A recycled buffer, zeroed: a fresh one costs a page fault per 4 KiB on first touch.
    const out = cpu(backend)
      .uninitializedFloat32(n * c * h * w)
      .fill(0);
    for (let b = 0; b < n; b++) {
      scatterTaps(out, b * c * h * w, cs, placeOf(b, n, rows, l, g.batchInColumns), c, h, w, g);
    }
    return cpu(backend).output(out, [n, c, h, w], 'float32');
  }),
];
