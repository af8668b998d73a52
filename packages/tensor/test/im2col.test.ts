/**
 * The cpu backend's Im2Col / Col2Im against a naive per-element definition over many geometries
 * (stride larger or smaller than the kernel, padding on either side, kernels wider than the
 * padded image edge), and Col2Im as Im2Col's adjoint: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINE } from '../src/engine.js';
import * as T from '../src/index.js';
import type { ConvGeometry } from '../src/kernel-names.js';

afterAll(() => T.setBackend('cpu'));

function naiveIm2col(x: Float32Array, shape: number[], g: ConvGeometry, padValue: number) {
  const [n, c, h, w] = shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * g.padH - g.kernelH) / g.strideH) + 1;
  const ow = Math.floor((w + 2 * g.padW - g.kernelW) / g.strideW) + 1;
  const rows = c * g.kernelH * g.kernelW;
  const out = new Float32Array(n * rows * oh * ow);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let ki = 0; ki < g.kernelH; ki++)
        for (let kj = 0; kj < g.kernelW; kj++)
          for (let y = 0; y < oh; y++)
            for (let xx = 0; xx < ow; xx++) {
              const iy = y * g.strideH - g.padH + ki;
              const ix = xx * g.strideW - g.padW + kj;
              const row = (ch * g.kernelH + ki) * g.kernelW + kj;
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
              out[((b * rows + row) * oh + y) * ow + xx] = inside
                ? x[((b * c + ch) * h + iy) * w + ix]!
                : padValue;
            }
  return out;
}

/** `[N, K, L]` → `[K, N·L]`. */
function inColumns(cols: Float32Array, n: number, k: number): Float32Array {
  const l = cols.length / (n * k);
  const out = new Float32Array(cols.length);
  for (let b = 0; b < n; b++)
    for (let row = 0; row < k; row++)
      for (let p = 0; p < l; p++) out[row * n * l + b * l + p] = cols[(b * k + row) * l + p]!;
  return out;
}

const geometry = fc
  .record({
    kernelH: fc.integer({ min: 1, max: 4 }),
    kernelW: fc.integer({ min: 1, max: 4 }),
    strideH: fc.integer({ min: 1, max: 5 }),
    strideW: fc.integer({ min: 1, max: 5 }),
    padH: fc.integer({ min: 0, max: 3 }),
    padW: fc.integer({ min: 0, max: 3 }),
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    batchInColumns: fc.boolean(),
  })
  .filter((g) => g.h + 2 * g.padH >= g.kernelH && g.w + 2 * g.padW >= g.kernelW);

describe('cpu Im2Col / Col2Im', () => {
  it('equal the naive definition and are adjoint, for any geometry and either layout', () => {
    T.setBackend('cpu');
    fc.assert(
      fc.property(geometry, fc.integer({ min: 0, max: 1000 }), (g, seed) => {
        const shape = [g.n, g.c, g.h, g.w];
        const x = T.randn(shape, { seed });
        const { n, c, h, w, batchInColumns, ...geom } = g;
        const cols = ENGINE.runKernel('Im2Col', [x], { ...geom, padValue: -7, batchInColumns });
        const naive = naiveIm2col(x.dataSync() as Float32Array, shape, geom, -7);
        const [rows, l] = [cols.shape.at(-2)!, cols.shape.at(-1)!];
        // [N, K, L], or [K, N·L] with every image's L entries of a row side by side.
        const want = batchInColumns ? inColumns(naive, n, c * geom.kernelH * geom.kernelW) : naive;
        expect(cols.shape).toEqual(batchInColumns ? [rows, l] : [n, rows, l]);
        expect(Array.from(cols.dataSync())).toEqual(Array.from(want));
        // Adjoint: with zero padding, ⟨im2col(x), r⟩ = ⟨x, col2im(r)⟩ (float64 sums of float32 data).
        const zeroPad = ENGINE.runKernel('Im2Col', [x], { ...geom, padValue: 0, batchInColumns });
        const r = T.randn(zeroPad.shape, { seed: seed + 1 });
        const back = ENGINE.runKernel('Col2Im', [r], {
          ...geom,
          channels: c,
          height: h,
          width: w,
          batchInColumns,
        });
        const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
          let s = 0;
          for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
          return s;
        };
        const lhs = dot(zeroPad.dataSync(), r.dataSync());
        const rhs = dot(x.dataSync(), back.dataSync());
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(lhs)));
        for (const t of [x, cols, zeroPad, r, back]) t.dispose();
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

/** The channels-last columns `[N·OH·OW, kh·kw·C]` from the naive `[N, C·kh·kw, OH·OW]` ones. */
function naiveNhwc(naive: Float32Array, n: number, c: number, taps: number, l: number): Float32Array {
  const out = new Float32Array(naive.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let t = 0; t < taps; t++)
        for (let p = 0; p < l; p++)
          out[((b * l + p) * taps + t) * c + ch] = naive[((b * c + ch) * taps + t) * l + p]!;
  return out;
}

describe('cpu Im2ColNhwc / Col2ImNhwc', () => {
  it('equal the naive definition and are adjoint, for any geometry, with few channels and with many', () => {
    T.setBackend('cpu');
    fc.assert(
      fc.property(geometry, fc.boolean(), fc.integer({ min: 0, max: 1000 }), (g, wide, seed) => {
        // 16 channels and more take the block-copy path.
        const { n, h, w, batchInColumns: _, ...geom } = g;
        const c = wide ? 16 + g.c : g.c;
        const first = T.randn([n, c, h, w], { seed });
        const x = T.permute(first, [0, 2, 3, 1]);
        const cols = ENGINE.runKernel('Im2ColNhwc', [x], geom);
        const taps = geom.kernelH * geom.kernelW;
        const naive = naiveIm2col(first.dataSync() as Float32Array, [n, c, h, w], geom, 0);
        const l = naive.length / (n * c * taps);
        expect(cols.shape).toEqual([n * l, taps * c]);
        expect(Array.from(cols.dataSync())).toEqual(Array.from(naiveNhwc(naive, n, c, taps, l)));
        const r = T.randn(cols.shape, { seed: seed + 1 });
        const back = ENGINE.runKernel('Col2ImNhwc', [r], {
          ...geom,
          batch: n,
          height: h,
          width: w,
          channels: c,
        });
        expect(back.shape).toEqual([n, h, w, c]);
        let lhs = 0;
        let rhs = 0;
        const [cv, rv, xv, bv] = [cols.dataSync(), r.dataSync(), x.dataSync(), back.dataSync()];
        for (let i = 0; i < cv.length; i++) lhs += cv[i]! * rv[i]!;
        for (let i = 0; i < xv.length; i++) rhs += xv[i]! * bv[i]!;
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(lhs)));
        for (const t of [first, x, cols, r, back]) t.dispose();
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('conv2dNhwc', () => {
  it.each(['cpu', 'wasm'])(
    '%s: equals conv2d on the permuted input, forward and every gradient',
    (backend) => {
      T.setBackend(backend);
      T.scope(() => {
        const opts = { stride: [2, 1] as [number, number], padding: 1 };
        const grads = (nhwc: boolean) => {
          const x = T.randn([3, 20, 5, 7], { seed: 1, requiresGrad: true });
          const w = T.randn([6, 20, 3, 3], { seed: 2, requiresGrad: true });
          const b = T.randn([6], { seed: 3, requiresGrad: true });
          const y = nhwc
            ? T.permute(T.conv2dNhwc(T.permute(x, [0, 2, 3, 1]), w, b, opts), [0, 3, 1, 2])
            : T.conv2d(x, w, b, opts);
          y.mul(T.randn(y.shape, { seed: 4 }))
            .sum()
            .backward();
          return [y, x.grad!, w.grad!, b.grad!].map((t) => Array.from(t.dataSync()));
        };
        const [want, got] = [grads(false), grads(true)];
        for (let i = 0; i < want.length; i++) {
          const worst = Math.max(...want[i]!.map((v, j) => Math.abs(v - got[i]![j]!)));
          expect(worst, ['y', 'dx', 'dweight', 'dbias'][i]).toBeLessThan(1e-4);
        }
      });
    },
  );

  it('refuses inputs that are not [N, H, W, C] with the weight’s channels last', () => {
    T.setBackend('cpu');
    expect(() => T.conv2dNhwc(T.randn([2, 4, 4]), T.randn([3, 4, 3, 3]))).toThrow(/\[N, H, W, C\]/);
    expect(() => T.conv2dNhwc(T.randn([2, 4, 4, 5]), T.randn([3, 4, 3, 3]))).toThrow(
      /5 channels \(last axis\) but weight \[3,4,3,3\] expects 4/,
    );
    expect(() => T.conv2dNhwc(T.randn([2, 4, 4, 4]), T.randn([3, 4, 3, 3]), T.randn([2]))).toThrow(
      /bias \[2\] must be \[3\]/,
    );
  });
});
