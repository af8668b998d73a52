import type { ConvGeometry } from '../../../kernel-names.js';
import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';
import { outSize } from './conv.js';
import { cpuKernel } from './cpu-kernel.js';

const cpu = (b: unknown) => b as CpuBackend;

/** A float32 view of a buffer (conv kernels only see float32 tensors). */
const f32 = (v: ArrayLike<number>): Float32Array => (v instanceof Float32Array ? v : Float32Array.from(v));

/** Below this many channels a tap is copied element by element (a subarray costs more than a few stores). */
const BLOCK_COPY_CHANNELS = 16;

/** Tables of the last few geometries: a training step asks for the same few every time. */
const recentTables = new Map<string, Int32Array>();
const RECENT_TABLES = 16;

/**
 * For each tap t of each output pixel (row-major over n, y, x, ki, kj — the order of the column
 * rows' blocks), the offset of its C channels in the `[N, H, W, C]` input, or −1 where the tap
 * falls on padding. Both kernels walk this one table (gather one way, scatter-add the other).
 * Tables are kept for the last few geometries (building one costs about as much as the gather).
 */
export function tapOffsets(n: number, h: number, w: number, c: number, g: ConvGeometry): Int32Array {
  const key = `${n},${h},${w},${c},${g.kernelH},${g.kernelW},${g.strideH},${g.strideW},${g.padH},${g.padW}`;
  const known = recentTables.get(key);
  if (known) return known;
  const table = buildTapOffsets(n, h, w, c, g);
  if (recentTables.size >= RECENT_TABLES) recentTables.delete(recentTables.keys().next().value!);
  recentTables.set(key, table);
  return table;
}

function buildTapOffsets(n: number, h: number, w: number, c: number, g: ConvGeometry): Int32Array {
  const oh = outSize(h, g.kernelH, g.strideH, g.padH);
  const ow = outSize(w, g.kernelW, g.strideW, g.padW);
  const offsets = new Int32Array(n * oh * ow * g.kernelH * g.kernelW);
  let t = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let x0 = 0; x0 < ow; x0++)
        for (let ki = 0; ki < g.kernelH; ki++) {
          const iy = y * g.strideH - g.padH + ki;
          for (let kj = 0; kj < g.kernelW; kj++, t++) {
            const ix = x0 * g.strideW - g.padW + kj;
            offsets[t] = iy < 0 || iy >= h || ix < 0 || ix >= w ? -1 : ((b * h + iy) * w + ix) * c;
          }
        }
  return offsets;
}

/**
 * Channels-last im2col and its adjoint: row (n, y, x) of the columns holds, for each tap (ki, kj),
 * the C channels of input pixel (n, y·sH − pH + ki, x·sW − pW + kj) — a contiguous run of the
 * `[N, H, W, C]` input, so each tap is one block copy (or one block add going back), where the
 * channels-first layout moves one value at a time with a stride.
 */
export const convNhwcKernels: KernelConfig[] = [
  cpuKernel('Im2ColNhwc', ({ inputs: [x], attrs: g, backend }) => {
    const [n, h, w, c] = x!.shape as [number, number, number, number];
    const oh = outSize(h, g.kernelH, g.strideH, g.padH);
    const ow = outSize(w, g.kernelW, g.strideW, g.padW);
    const rowLength = g.kernelH * g.kernelW * c;
    const xs = f32(cpu(backend).values(x!.dataId));
    const offsets = tapOffsets(n, h, w, c, g);
    // Every element is written (a tap or a padding zero): a recycled buffer will do.
    const out = cpu(backend).uninitializedFloat32(n * oh * ow * rowLength);
    const block = c >= BLOCK_COPY_CHANNELS;
    for (let t = 0, o = 0; t < offsets.length; t++, o += c) {
      const s = offsets[t]!;
      if (s < 0) out.fill(0, o, o + c);
      else if (block) out.set(xs.subarray(s, s + c), o);
      else for (let ch = 0; ch < c; ch++) out[o + ch] = xs[s + ch]!;
    }
    return cpu(backend).output(out, [n * oh * ow, rowLength], 'float32');
  }),
  cpuKernel('Col2ImNhwc', ({ inputs: [cols], attrs: g, backend }) => {
    const { batch: n, height: h, width: w, channels: c } = g;
    const cs = f32(cpu(backend).values(cols!.dataId));
    const offsets = tapOffsets(n, h, w, c, g);
    // A recycled buffer, zeroed: a fresh one costs a page fault per 4 KiB on first touch.
    const out = cpu(backend)
      .uninitializedFloat32(n * h * w * c)
      .fill(0);
    for (let t = 0, o = 0; t < offsets.length; t++, o += c) {
      const s = offsets[t]!;
      if (s >= 0) for (let ch = 0; ch < c; ch++) out[s + ch]! += cs[o + ch]!;
    }
    return cpu(backend).output(out, [n, h, w, c], 'float32');
  }),
];
