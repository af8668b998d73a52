/**
 * A small PNG writer for tests: any bit depth, colour type and interlacing, and files that lie
 * (an IDAT shorter or longer than the header declares, a declared size with no pixels behind it).
 * Written from the PNG specification (W3C, 2nd edition), independently of pngjs and libpng.
 */
import { crc32, deflateSync } from 'node:zlib';

export function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
  return out;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngSpec {
  width: number;
  height: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  depth: 1 | 2 | 4 | 8 | 16;
  interlace?: boolean;
  /** Palette entries (colour type 3). */
  palette?: [number, number, number][];
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

/** IHDR + optional PLTE + one IDAT of `raw` (already filtered scanlines) + IEND. */
export function pngFromRaw(spec: PngSpec, raw: Uint8Array, extraChunks: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(spec.width, 0);
  ihdr.writeUInt32BE(spec.height, 4);
  ihdr[8] = spec.depth;
  ihdr[9] = spec.colorType;
  ihdr[12] = spec.interlace ? 1 : 0;
  const parts = [PNG_SIGNATURE, chunk('IHDR', ihdr)];
  if (spec.palette) parts.push(chunk('PLTE', Buffer.from(spec.palette.flat())));
  parts.push(...extraChunks, chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** Packs one row of samples (each < 2^depth) into bytes, MSB first. */
function packRow(samples: number[], depth: number): number[] {
  if (depth === 8) return samples;
  if (depth === 16) return samples.flatMap((v) => [v >> 8, v & 255]);
  const out: number[] = [];
  const perByte = 8 / depth;
  for (let i = 0; i < samples.length; i += perByte) {
    let b = 0;
    for (let k = 0; k < perByte; k++) b |= (samples[i + k] ?? 0) << (8 - depth * (k + 1));
    out.push(b);
  }
  return out;
}

/**
 * A PNG whose pixel (x, y), channel c holds `sample(x, y, c)` (< 2^depth), unfiltered (filter 0),
 * interlaced with Adam7 when asked.
 */
export function encodeTestPng(spec: PngSpec, sample: (x: number, y: number, c: number) => number): Buffer {
  const channels = CHANNELS[spec.colorType];
  const rows: number[] = [];
  const emit = (xs: number[], y: number) => {
    if (xs.length === 0) return;
    rows.push(
      0,
      ...packRow(
        xs.flatMap((x) => Array.from({ length: channels }, (_, c) => sample(x, y, c))),
        spec.depth,
      ),
    );
  };
  const range = (start: number, end: number, step: number) => {
    const out: number[] = [];
    for (let v = start; v < end; v += step) out.push(v);
    return out;
  };
  if (!spec.interlace) {
    for (let y = 0; y < spec.height; y++) emit(range(0, spec.width, 1), y);
  } else {
    const passes = [
      [0, 0, 8, 8],
      [4, 0, 8, 8],
      [0, 4, 4, 8],
      [2, 0, 4, 4],
      [0, 2, 2, 4],
      [1, 0, 2, 2],
      [0, 1, 1, 2],
    ] as const;
    for (const [x0, y0, dx, dy] of passes) {
      const xs = range(x0, spec.width, dx);
      if (xs.length === 0) continue;
      for (const y of range(y0, spec.height, dy)) emit(xs, y);
    }
  }
  return pngFromRaw(spec, Uint8Array.from(rows));
}
