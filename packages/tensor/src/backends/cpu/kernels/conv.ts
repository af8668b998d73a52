import type { ConvGeometry } from '../../../kernel-names.js';
import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';

const cpu = (b: unknown) => b as CpuBackend;

const outSize = (size: number, k: number, s: number, p: number) => Math.floor((size + 2 * p - k) / s) + 1;

/**
 * The im2col walk, shared by both directions: for column row (c, ki, kj) and output position
 * (y, x), the input tap is (c, y·sH − pH + ki, x·sW − pW + kj). `gather` copies taps into `cols`
 * (padding taps read `padValue`); otherwise taps of `cols` are summed back into `image` (col2im).
 * Plain loops with the row bounds hoisted: a callback per element cost 30 ns.
 */
function walkTaps(
  image: Float32Array | ArrayLike<number>,
  imageOffset: number,
  cols: Float32Array | ArrayLike<number>,
  colsOffset: number,
  channels: number,
  height: number,
  width: number,
  g: ConvGeometry,
  gather: boolean,
  padValue = 0,
): void {
  const oh = outSize(height, g.kernelH, g.strideH, g.padH);
  const ow = outSize(width, g.kernelW, g.strideW, g.padW);
  const img = image as Float32Array;
  const col = cols as Float32Array;
  let o = colsOffset;
  for (let c = 0; c < channels; c++) {
    for (let ki = 0; ki < g.kernelH; ki++) {
      for (let kj = 0; kj < g.kernelW; kj++) {
        // Output columns whose tap falls inside the image: x in [x0, x1).
        const x0 = Math.min(ow, Math.max(0, Math.ceil((g.padW - kj) / g.strideW)));
        const x1 = Math.max(x0, Math.min(ow, Math.floor((width - 1 + g.padW - kj) / g.strideW) + 1));
        for (let y = 0; y < oh; y++, o += ow) {
          const iy = y * g.strideH - g.padH + ki;
          if (iy < 0 || iy >= height) {
            if (gather) col.fill(padValue, o, o + ow);
            continue;
          }
          const base = imageOffset + (c * height + iy) * width - g.padW + kj;
          if (gather) {
            for (let x = 0; x < x0; x++) col[o + x] = padValue;
            for (let x = x0; x < x1; x++) col[o + x] = img[base + x * g.strideW]!;
            for (let x = x1; x < ow; x++) col[o + x] = padValue;
          } else {
            for (let x = x0; x < x1; x++) img[base + x * g.strideW]! += col[o + x]!;
          }
        }
      }
    }
  }
}

export const convKernels: KernelConfig[] = [
  {
    kernelName: 'Im2Col',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [x], attrs, backend }) => {
      const g = attrs as ConvGeometry & { padValue: number };
      const [n, c, h, w] = x!.shape as [number, number, number, number];
      const oh = outSize(h, g.kernelH, g.strideH, g.padH);
      const ow = outSize(w, g.kernelW, g.strideW, g.padW);
      const rows = c * g.kernelH * g.kernelW;
      const xs = cpu(backend).values(x!.dataId);
      // Every element is written (taps or padValue): a recycled buffer will do.
      const out = cpu(backend).uninitializedFloat32(n * rows * oh * ow);
      for (let b = 0; b < n; b++) {
        const xo = b * c * h * w;
        const oo = b * rows * oh * ow;
        walkTaps(xs, xo, out, oo, c, h, w, g, true, g.padValue);
      }
      return cpu(backend).output(out, [n, rows, oh * ow], 'float32');
    },
  },
  {
    kernelName: 'Col2Im',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [cols], attrs, backend }) => {
      const g = attrs as ConvGeometry & { channels: number; height: number; width: number };
      const n = cols!.shape[0]!;
      const { channels: c, height: h, width: w } = g;
      const per = cols!.shape[1]! * cols!.shape[2]!;
      const cs = cpu(backend).values(cols!.dataId);
      const out = new Float32Array(n * c * h * w);
      for (let b = 0; b < n; b++) {
        const xo = b * c * h * w;
        const co = b * per;
        walkTaps(out, xo, cs, co, c, h, w, g, false);
      }
      return cpu(backend).output(out, [n, c, h, w], 'float32');
    },
  },
];
