import type { ConvGeometry } from '../../../kernel-names.js';
import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';

const cpu = (b: unknown) => b as CpuBackend;

const outSize = (size: number, k: number, s: number, p: number) => Math.floor((size + 2 * p - k) / s) + 1;

/** Visits each (column row, output position, input offset or −1 for padding) of an im2col layout. */
function forEachTap(
  channels: number,
  height: number,
  width: number,
  g: ConvGeometry,
  fn: (colIndex: number, inputIndex: number) => void,
): void {
  const oh = outSize(height, g.kernelH, g.strideH, g.padH);
  const ow = outSize(width, g.kernelW, g.strideW, g.padW);
  const l = oh * ow;
  for (let c = 0; c < channels; c++) {
    for (let ki = 0; ki < g.kernelH; ki++) {
      for (let kj = 0; kj < g.kernelW; kj++) {
        const row = (c * g.kernelH + ki) * g.kernelW + kj;
        for (let y = 0; y < oh; y++) {
          const iy = y * g.strideH - g.padH + ki;
          for (let x = 0; x < ow; x++) {
            const ix = x * g.strideW - g.padW + kj;
            const inside = iy >= 0 && iy < height && ix >= 0 && ix < width;
            fn(row * l + y * ow + x, inside ? (c * height + iy) * width + ix : -1);
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
      const out = new Float32Array(n * rows * oh * ow);
      for (let b = 0; b < n; b++) {
        const xo = b * c * h * w;
        const oo = b * rows * oh * ow;
        forEachTap(c, h, w, g, (col, inp) => {
          out[oo + col] = inp < 0 ? g.padValue : xs[xo + inp]!;
        });
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
        forEachTap(c, h, w, g, (col, inp) => {
          if (inp >= 0) out[xo + inp]! += cs[co + col]!;
        });
      }
      return cpu(backend).output(out, [n, c, h, w], 'float32');
    },
  },
];
