/**
 * Fuzz test of PNG and JPEG decoding (issue 16): seeded mutations of small valid files, each decoded
 * twice on the pure-JS path (and every 16th also with sharp). Every outcome must be an
 * `ImageDecodeError` or a well-formed image within the pixel limit, and the same bytes must give the
 * same outcome (the same message, or the same pixels) every time. Memory stays bounded because the
 * limit holds before allocation. `POLYMODAL_FUZZ_CASES` sets the count (default 10,000).
 */
import { crc32 } from 'node:zlib';
import { Generator } from '@polymodal/tensor';
import jpeg from 'jpeg-js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeImageJs, encodePng } from '../src/image/decode-image.js';
import { ImageDecodeError } from '../src/image/image-decode-error.js';
import type { RgbImage } from '../src/image/rgb-image.js';
import { encodeTestPng } from './png-writer.js';

const CASES = Number(process.env.POLYMODAL_FUZZ_CASES ?? 10_000);
const LIMIT = 1 << 16; // pixels: a mutated header can ask for at most this much

async function seeds(): Promise<{ png: Buffer[]; jpeg: Buffer[] }> {
  const g = new Generator(1);
  const rgb = (w: number, h: number) =>
    Buffer.from(Array.from({ length: w * h * 3 }, () => g.integer(0, 256)));
  const rgba = (w: number, h: number) =>
    Buffer.from(Array.from({ length: w * h * 4 }, () => g.integer(0, 256)));
  const image = (w: number, h: number): RgbImage => ({
    width: w,
    height: h,
    data: Float32Array.from(rgb(w, h)),
  });
  const pal = (n: number) =>
    Array.from({ length: n }, (_, i) => [i * 3, 255 - i, (i * 17) % 256] as [number, number, number]);
  return {
    png: [
      encodePng(image(9, 7)), // pngjs: filtered rows
      encodeTestPng({ width: 8, height: 6, colorType: 2, depth: 8 }, (x, y, c) => (x * 31 + y * 7 + c) % 256),
      encodeTestPng(
        { width: 5, height: 7, colorType: 3, depth: 4, interlace: true, palette: pal(16) },
        (x, y) => (x + y) % 16,
      ),
      encodeTestPng({ width: 9, height: 4, colorType: 0, depth: 16 }, (x, y) => x * 7000 + y),
      encodeTestPng(
        { width: 6, height: 6, colorType: 6, depth: 8, interlace: true },
        (x, y, c) => (x * y + c * 50) % 256,
      ),
      encodeTestPng({ width: 10, height: 3, colorType: 4, depth: 8 }, (x, y, c) => (c ? 200 : x * 20 + y)),
      encodeTestPng({ width: 17, height: 2, colorType: 0, depth: 1 }, (x, y) => (x + y) % 2),
      await sharp(rgb(12, 10), { raw: { width: 12, height: 10, channels: 3 } })
        .png({ compressionLevel: 9 })
        .toBuffer(),
    ],
    jpeg: [
      Buffer.from(jpeg.encode({ data: rgba(16, 16), width: 16, height: 16 }, 80).data),
      Buffer.from(jpeg.encode({ data: rgba(13, 9), width: 13, height: 9 }, 50).data),
      await sharp(rgb(24, 16), { raw: { width: 24, height: 16, channels: 3 } })
        .jpeg({ quality: 75 })
        .toBuffer(),
      await sharp(rgb(16, 16), { raw: { width: 16, height: 16, channels: 3 } })
        .jpeg({ quality: 60, progressive: true, chromaSubsampling: '4:4:4' })
        .toBuffer(),
      await sharp(rgb(8, 8), { raw: { width: 8, height: 8, channels: 3 } })
        .grayscale()
        .jpeg()
        .toBuffer(),
    ],
  };
}

/** Recomputes every chunk CRC of a PNG, so a mutation inside a chunk reaches the decoder's logic. */
function fixCrcs(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  let at = 8;
  while (at + 12 <= out.length) {
    const length = out.readUInt32BE(at);
    if (at + 12 + length > out.length) break;
    out.writeUInt32BE(crc32(out.subarray(at + 4, at + 8 + length)) >>> 0, at + 8 + length);
    at += 12 + length;
  }
  return out;
}

/** One seeded mutation of `seed`. */
function mutate(seed: Buffer, g: Generator, isPng: boolean): Buffer {
  const b = Buffer.from(seed);
  const pos = () => g.integer(0, b.length);
  switch (g.integer(0, 8)) {
    case 0: // a few bit flips
      for (let k = g.integer(1, 9); k > 0; k--) {
        const i = pos();
        b[i] = b[i]! ^ (1 << g.integer(0, 8));
      }
      return isPng && g.uniform() < 0.7 ? fixCrcs(b) : b;
    case 1: // bytes set to random / boundary values
      for (let k = g.integer(1, 5); k > 0; k--)
        b[pos()] = [0, 0xff, 0x7f, 0x80, g.integer(0, 256)][g.integer(0, 5)]!;
      return isPng && g.uniform() < 0.7 ? fixCrcs(b) : b;
    case 2: // truncation
      return b.subarray(0, pos());
    case 3: {
      // a slice repeated somewhere else
      const from = pos();
      const slice = b.subarray(from, from + g.integer(1, 64));
      const at = pos();
      return Buffer.concat([b.subarray(0, at), slice, b.subarray(at)]);
    }
    case 4: {
      // header fields: PNG width/height/depth/colour type/interlace (CRC kept valid), JPEG SOF size
      if (isPng) {
        const field = [16, 20, 24, 25, 28][g.integer(0, 5)]!;
        if (field < 24)
          b.writeUInt32BE([0, 1, 255, 65535, 2 ** 31, g.integer(0, 4096)][g.integer(0, 6)]!, field);
        else b[field] = g.integer(0, 17);
        return fixCrcs(b);
      }
      const sof = b.findIndex((v, i) => v === 0xff && b[i + 1]! >= 0xc0 && b[i + 1]! <= 0xc2);
      if (sof >= 0 && sof + 9 <= b.length)
        b.writeUInt16BE(
          [0, 1, 4096, 65535, g.integer(0, 2000)][g.integer(0, 5)]!,
          sof + 5 + 2 * g.integer(0, 2),
        );
      return b;
    }
    case 5: {
      // a chunk / segment length rewritten
      const at = isPng ? 33 : b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xdb);
      if (at >= 0 && at + 4 < b.length) {
        if (isPng) b.writeUInt32BE(g.integer(0, 2 ** 31), at);
        else b.writeUInt16BE(g.integer(0, 65536), at + 2);
      }
      return isPng ? b : b;
    }
    case 6: {
      // deep in the data: the compressed stream or the entropy-coded scan
      const start = Math.floor(b.length / 2);
      for (let k = g.integer(1, 4); k > 0; k--) b[start + g.integer(0, b.length - start)] = g.integer(0, 256);
      return isPng ? fixCrcs(b) : b;
    }
    default: {
      // random garbage spliced in
      const at = pos();
      const junk = Buffer.from(Array.from({ length: g.integer(1, 32) }, () => g.integer(0, 256)));
      const out = Buffer.concat([b.subarray(0, at), junk, b.subarray(at + g.integer(0, 16))]);
      return isPng && g.uniform() < 0.5 ? fixCrcs(out) : out;
    }
  }
}

type Outcome = { ok: true; width: number; height: number; hash: string } | { ok: false; message: string };

function describeImage(img: RgbImage): Outcome {
  expect(img.width * img.height).toBeLessThanOrEqual(LIMIT);
  expect(img.data.length).toBe(img.width * img.height * 3);
  let h = 2166136261;
  for (let i = 0; i < img.data.length; i++) {
    const v = img.data[i]!;
    if (!(v >= 0 && v <= 255)) throw new Error(`pixel value ${v} outside 0..255`);
    h = Math.imul(h ^ v, 16777619) >>> 0;
  }
  return { ok: true, width: img.width, height: img.height, hash: h.toString(16) };
}

function outcomeOf(run: () => RgbImage): Outcome {
  try {
    return describeImage(run());
  } catch (e) {
    if (!(e instanceof ImageDecodeError))
      throw new Error(`not an ImageDecodeError: ${(e as Error)?.stack ?? e}`);
    return { ok: false, message: e.message };
  }
}

async function outcomeOfAsync(run: () => Promise<RgbImage>): Promise<Outcome> {
  try {
    return describeImage(await run());
  } catch (e) {
    if (!(e instanceof ImageDecodeError))
      throw new Error(`not an ImageDecodeError: ${(e as Error)?.stack ?? e}`);
    return { ok: false, message: e.message };
  }
}

describe('decoding fuzzed PNG and JPEG bytes', () => {
  // About 8 s on an idle core; the timeout leaves room for a loaded CI machine.
  it(`${CASES.toLocaleString('en-US')} seeded mutations: a typed error or a deterministic, bounded image`, {
    timeout: 600_000,
  }, async () => {
    const { png, jpeg: jpegs } = await seeds();
    const g = new Generator(2024);
    const rssBefore = process.memoryUsage().rss;
    const tally = { ok: 0, errors: 0, sharpRuns: 0 };
    for (let i = 0; i < CASES; i++) {
      const isPng = i % 2 === 0;
      const pool = isPng ? png : jpegs;
      const bytes = mutate(pool[g.integer(0, pool.length)]!, g, isPng);
      const file = `case-${i}.${isPng ? 'png' : 'jpg'}`;
      const first = outcomeOf(() => decodeImageJs(bytes, file, { limitInputPixels: LIMIT }));
      // Dirty freed memory between the two runs: a decoder reading memory it never wrote would differ.
      Buffer.allocUnsafe(4096).fill(i & 255);
      const second = outcomeOf(() => decodeImageJs(Buffer.from(bytes), file, { limitInputPixels: LIMIT }));
      expect(second, `${file} decoded twice (base64 ${bytes.toString('base64')})`).toEqual(first);
      if (first.ok) tally.ok++;
      else tally.errors++;
      if (i % 16 === 0) {
        tally.sharpRuns++;
        const a = await outcomeOfAsync(() =>
          decodeImage(bytes, { backend: 'sharp', file, limitInputPixels: LIMIT }),
        );
        const b = await outcomeOfAsync(() =>
          decodeImage(bytes, { backend: 'sharp', file, limitInputPixels: LIMIT }),
        );
        expect(b, `${file} with sharp twice`).toEqual(a);
      }
    }
    if (process.env.FUZZ_DEBUG) console.log(tally);
    // The mutations reach both outcomes (a fuzzer that only ever hits "bad signature" tests little).
    expect(tally.ok).toBeGreaterThan(CASES / 20);
    expect(tally.errors).toBeGreaterThan(CASES / 4);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 2 ** 20);
  });
});
