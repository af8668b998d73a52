import { idiv } from '../kernel-source.js';
import { gpujsKernel, type KernelFactory } from './common.js';

const outSize = (size: number, k: number, s: number, p: number) => Math.floor((size + 2 * p - k) / s) + 1;

/** Output entry → (image nb, column row, position pos), for either layout (see kernel-names.ts). */
const IM2COL_SOURCE = `function(x, n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, padValue, batchInColumns) {
  const l = oh * ow;
  let nb = 0;
  let row = 0;
  let pos = 0;
  if (batchInColumns > 0) {
    const nl = n * l;
    row = ${idiv('this.thread.x', 'nl')};
    const r = this.thread.x - row * nl;
    nb = ${idiv('r', 'l')};
    pos = r - nb * l;
  } else {
    const per = c * kh * kw * l;
    nb = ${idiv('this.thread.x', 'per')};
    const r = this.thread.x - nb * per;
    row = ${idiv('r', 'l')};
    pos = r - row * l;
  }
  const kk = kh * kw;
  const ch = ${idiv('row', 'kk')};
  const rr = row - ch * kk;
  const ki = ${idiv('rr', 'kw')};
  const kj = rr - ki * kw;
  const y = ${idiv('pos', 'ow')};
  const xx = pos - y * ow;
  const iy = y * sh - ph + ki;
  const ix = xx * sw - pw + kj;
  if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
    return padValue;
  }
  return x[((nb * c + ch) * h + iy) * w + ix];
}`;

/** Each input pixel sums the column entries of every kernel tap that read it. */
const COL2IM_SOURCE = `function(cols, n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, batchInColumns) {
  const hw = h * w;
  const chw = c * hw;
  const nb = ${idiv('this.thread.x', 'chw')};
  const r = this.thread.x - nb * chw;
  const ch = ${idiv('r', 'hw')};
  const r2 = r - ch * hw;
  const iy = ${idiv('r2', 'w')};
  const ix = r2 - iy * w;
  const l = oh * ow;
  // Entry (row, pos) of image nb is at base + row * rowStride + pos.
  let base = nb * c * kh * kw * l;
  let rowStride = l;
  if (batchInColumns > 0) {
    base = nb * l;
    rowStride = n * l;
  }
  let s = 0;
  for (let ki = 0; ki < kh; ki++) {
    const ty = iy + ph - ki;
    const y = ${idiv('ty', 'sh')};
    if (ty >= 0 && ty - y * sh == 0 && y < oh) {
      for (let kj = 0; kj < kw; kj++) {
        const tx = ix + pw - kj;
        const xx = ${idiv('tx', 'sw')};
        if (tx >= 0 && tx - xx * sw == 0 && xx < ow) {
          s = s + cols[base + ((ch * kh + ki) * kw + kj) * rowStride + y * ow + xx];
        }
      }
    }
  }
  return s;
}`;

export const convKernels: KernelFactory[] = [
  gpujsKernel('Im2Col', (backend, [x], g) => {
    const [n, c, h, w] = x!.shape as [number, number, number, number];
    const oh = outSize(h, g.kernelH, g.strideH, g.padH);
    const ow = outSize(w, g.kernelW, g.strideW, g.padW);
    const rows = c * g.kernelH * g.kernelW;
    const shape = g.batchInColumns ? [rows, n * oh * ow] : [n, rows, oh * ow];
    return backend.run('Im2Col', IM2COL_SOURCE, shape, 'float32', [
      backend.arg(x!.dataId),
      n,
      c,
      h,
      w,
      g.kernelH,
      g.kernelW,
      g.strideH,
      g.strideW,
      g.padH,
      g.padW,
      oh,
      ow,
      g.padValue,
      g.batchInColumns ? 1 : 0,
    ]);
  }),
  gpujsKernel('Col2Im', (backend, [cols], g) => {
    const oh = outSize(g.height, g.kernelH, g.strideH, g.padH);
    const ow = outSize(g.width, g.kernelW, g.strideW, g.padW);
    const n = g.batchInColumns ? cols!.shape[1]! / (oh * ow) : cols!.shape[0]!;
    return backend.run('Col2Im', COL2IM_SOURCE, [n, g.channels, g.height, g.width], 'float32', [
      backend.arg(cols!.dataId),
      n,
      g.channels,
      g.height,
      g.width,
      g.kernelH,
      g.kernelW,
      g.strideH,
      g.strideW,
      g.padH,
      g.padW,
      oh,
      ow,
      g.batchInColumns ? 1 : 0,
    ]);
  }),
];
