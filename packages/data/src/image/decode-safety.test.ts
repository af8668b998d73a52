/**
 * Issue 16 items 3–4 and issue 17 item 5: decoders never return pixels they did not decode, a pixel
 * limit holds before any allocation on every codec path, every format sharp reads is decoded, and
 * where sharp and the pure-JS codecs both run they agree (PNG exactly; JPEG within a documented
 * tolerance).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '@polymodal/tensor';
import jpeg from 'jpeg-js';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { chunk, encodeTestPng, PNG_SIGNATURE, type PngSpec, pngFromRaw } from '../../test/png-writer.js';
import { rasterizeScene } from '../generator/draw-scene.js';
import { sampleScene } from '../generator/scene.js';
import { ImageDecodePool } from '../loading/image-decode-pool.js';
import { decodeImage, decodeImageFile, decodeImageJs } from './decode-image.js';
import { checkEncodedImage, DEFAULT_LIMIT_INPUT_PIXELS, sniffImageFormat } from './image-bytes.js';
import { ImageDecodeError } from './image-decode-error.js';
import type { RgbImage } from './rgb-image.js';

const dir = mkdtempSync(join(tmpdir(), 'pm-decode-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BACKENDS = ['js', 'sharp', 'auto'] as const;

async function failure(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

/** The file: a 32×32 RGB PNG whose IDAT inflates to 64 zero bytes (it needs 32·97). */
const shortIdat = pngFromRaw({ width: 32, height: 32, colorType: 2, depth: 8 }, new Uint8Array(64));

describe('PNG whose IDAT does not hold the declared pixels', () => {
  it('is rejected with a typed error naming the file and the byte counts, every time, on every backend', async () => {
    for (const backend of BACKENDS) {
      const messages = new Set<string>();
      for (let i = 0; i < 20; i++) {
        // Dirty the allocator between attempts, as other work in a process would.
        Buffer.allocUnsafe(1 << 16).fill(i * 37);
        const e = await failure(decodeImage(shortIdat, { backend, file: 'short.png' }));
        expect(e).toBeInstanceOf(ImageDecodeError);
        messages.add(e.message);
      }
      expect([...messages]).toHaveLength(1);
      if (backend === 'js')
        expect([...messages][0]).toBe(
          'decodeImage: cannot decode short.png: png: IDAT inflates to 64 bytes, but a 32×32 image (bit depth 8, colour type 2) needs 3,104',
        );
    }
  });

  it('is rejected when the stream inflates to more than declared, or is cut short', async () => {
    const spec = { width: 4, height: 4, colorType: 2, depth: 8 } as const;
    const long = pngFromRaw(spec, new Uint8Array(4 * 13 + 1000));
    expect((await failure(decodeImage(long, { backend: 'js' }))).message).toMatch(
      /IDAT inflates to more than the 52 bytes a 4×4 image needs/,
    );
    const good = pngFromRaw(spec, new Uint8Array(4 * 13));
    const idat = good.indexOf('IDAT', 0, 'latin1') - 4;
    const cut = Buffer.concat([
      good.subarray(0, idat),
      chunk('IDAT', good.subarray(idat + 8, idat + 12)),
      chunk('IEND', new Uint8Array(0)),
    ]);
    expect((await failure(decodeImage(cut, { backend: 'js' }))).message).toMatch(/IDAT does not inflate/);
    expect(await decodeImage(good, { backend: 'js' })).toMatchObject({ width: 4, height: 4 });
  });

  it('structural lies are named: chunk past the end, no IHDR first, bad depth, no IEND, palette without PLTE', async () => {
    const good = encodeTestPng({ width: 3, height: 2, colorType: 2, depth: 8 }, () => 9);
    const bad = (bytes: Uint8Array) => failure(() => decodeImageJs(bytes, 'x.png')).then((e) => e.message);
    const past = Buffer.from(good);
    past.writeUInt32BE(1_000_000, 33); // the IDAT's length field
    expect(await bad(past)).toMatch(
      /x\.png: png: chunk 'IDAT' at byte 33 declares 1,000,000 bytes, past the end/,
    );
    expect(await bad(Buffer.concat([PNG_SIGNATURE, chunk('IDAT', new Uint8Array(1))]))).toMatch(
      /the first chunk is 'IDAT', not IHDR/,
    );
    const depth = Buffer.from(good);
    depth[24] = 3;
    expect(await bad(depth)).toMatch(/invalid bit depth 3 for colour type 2/);
    expect(await bad(good.subarray(0, good.length - 12))).toMatch(/no IEND chunk/);
    const palette = encodeTestPng(
      { width: 2, height: 2, colorType: 3, depth: 8, palette: [[1, 2, 3]] },
      () => 0,
    );
    const plte = palette.indexOf('PLTE', 0, 'latin1') - 4;
    expect(await bad(Buffer.concat([palette.subarray(0, plte), palette.subarray(plte + 12 + 3)]))).toMatch(
      /palette image without a PLTE chunk/,
    );
  });
});

describe('pixel limit (decompression bombs)', () => {
  // The 69-byte file: 20000×20000 declared, a few bytes of data.
  const bomb = pngFromRaw({ width: 20000, height: 20000, colorType: 2, depth: 8 }, new Uint8Array(10));

  it('a PNG declaring 20000×20000 is refused before any allocation, on every backend and in the pool', async () => {
    expect(bomb.length).toBeLessThan(80);
    for (const backend of BACKENDS) {
      const e = await failure(decodeImage(bomb, { backend, file: 'bomb.png' }));
      expect(e).toBeInstanceOf(ImageDecodeError);
      expect(e.message).toBe(
        'decodeImage: cannot decode bomb.png: png: 20000×20000 = 400,000,000 pixels is over the limit of 268,402,689 (limitInputPixels)',
      );
    }
    const path = join(dir, 'bomb.png');
    writeFileSync(path, bomb);
    for (const useSharp of [true, false]) {
      const pool = new ImageDecodePool({ workers: 1, useSharp });
      try {
        await expect(pool.decode(path)).rejects.toThrow(
          /bomb\.png: png: 20000×20000 = 400,000,000 pixels is over the limit/,
        );
      } finally {
        await pool.close();
      }
    }
    // The message is the header check's, which runs before any decoder: nothing was allocated for
    // the pixels (before the fix the JS path allocated past 6 GB and took 71 s).
    expect(DEFAULT_LIMIT_INPUT_PIXELS).toBe(0x3fff * 0x3fff);
  });

  it('the limit is configurable (and can be lifted) on every path', async () => {
    const img = encodeTestPng(
      { width: 40, height: 30, colorType: 2, depth: 8 },
      (x, y, c) => (x + y + c) % 256,
    );
    const jpg = jpeg.encode({ data: Buffer.alloc(40 * 30 * 4, 128), width: 40, height: 30 }, 90).data;
    for (const backend of BACKENDS) {
      for (const bytes of [img, jpg]) {
        await expect(decodeImage(bytes, { backend, limitInputPixels: 1199 })).rejects.toThrow(
          /40×30 = 1,200 pixels is over the limit of 1,199/,
        );
        expect((await decodeImage(bytes, { backend, limitInputPixels: 1200 })).width).toBe(40);
        expect((await decodeImage(bytes, { backend, limitInputPixels: false })).height).toBe(30);
      }
    }
    const path = join(dir, 'small.png');
    writeFileSync(path, img);
    const pool = new ImageDecodePool({ workers: 1, useSharp: false, limitInputPixels: 1000 });
    try {
      await expect(pool.decode(path)).rejects.toThrow(/1,200 pixels is over the limit of 1,000/);
    } finally {
      await pool.close();
    }
    await expect(decodeImage(img, { limitInputPixels: -1 })).rejects.toThrow(
      /limitInputPixels must be a positive integer/,
    );
    expect(() => new ImageDecodePool({ limitInputPixels: 1.5 })).toThrow(/limitInputPixels/);
  });

  it('a JPEG whose frame header declares 60000×60000 is refused from the header alone', async () => {
    const jpg = Buffer.from(
      jpeg.encode({ data: Buffer.alloc(16 * 8 * 4, 200), width: 16, height: 8 }, 90).data,
    );
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    jpg.writeUInt16BE(60000, sof + 5);
    jpg.writeUInt16BE(60000, sof + 7);
    expect(checkEncodedImage(jpg, 'jpeg', Number.POSITIVE_INFINITY, null)).toEqual({
      width: 60000,
      height: 60000,
    });
    for (const backend of BACKENDS) {
      await expect(decodeImage(jpg, { backend, file: 'huge.jpg' })).rejects.toThrow(
        'decodeImage: cannot decode huge.jpg: jpeg: 60000×60000 = 3,600,000,000 pixels is over the limit of 268,402,689 (limitInputPixels)',
      );
    }
  });
});

describe('every format sharp reads', () => {
  const scene = rasterizeScene(sampleScene(new Generator(4), { size: 48 }));
  const raw = () =>
    sharp(Buffer.from(scene.buffer), { raw: { width: 48, height: 48, channels: 4 } }).removeAlpha();
  const source: RgbImage = {
    width: 48,
    height: 48,
    data: Float32Array.from({ length: 48 * 48 * 3 }, (_, i) => scene[Math.floor(i / 3) * 4 + (i % 3)]!),
  };
  const maxDiff = (a: RgbImage, b: RgbImage) =>
    a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i]!)), 0);

  it('decodes WebP, GIF, TIFF and AVIF (lossless ones exactly); the JS fallback names what it cannot read', async () => {
    const files: [string, Buffer, number][] = [
      ['webp', await raw().webp({ lossless: true }).toBuffer(), 0],
      ['gif', await raw().gif().toBuffer(), 0], // eight flat colours: the palette holds them exactly
      ['tiff', await raw().tiff({ compression: 'lzw' }).toBuffer(), 0],
      ['avif', await raw().avif({ quality: 90 }).toBuffer(), 40], // lossy; chroma at hard edges
    ];
    for (const [format, bytes, tolerance] of files) {
      expect(sniffImageFormat(bytes)).toBe(format);
      const img = await decodeImage(bytes, { file: `scene.${format}` });
      expect([img.width, img.height]).toEqual([48, 48]);
      expect(maxDiff(img, source), format).toBeLessThanOrEqual(tolerance);
      await expect(decodeImage(bytes, { backend: 'js', file: `scene.${format}` })).rejects.toThrow(
        `scene.${format}: ${format}: the pure-JS decoders read PNG and JPEG only; ${format} needs sharp`,
      );
    }
    const path = join(dir, 'scene.webp');
    writeFileSync(path, files[0]![1]);
    const pool = new ImageDecodePool({ workers: 1 });
    try {
      expect(maxDiff(await pool.decode(path), source)).toBe(0);
    } finally {
      await pool.close();
    }
    // sharp's pixel limit covers the formats whose headers are not read here.
    await expect(decodeImage(files[0]![1], { limitInputPixels: 100 })).rejects.toThrow(/exceeds pixel limit/);
    await expect(decodeImageFile(join(dir, 'missing.webp'))).rejects.toThrow(/missing\.webp: ENOENT/);
  });
});

describe('sharp and the pure-JS codecs agree where both run', () => {
  it('PNG: bit for bit, for every colour type, bit depth and interlacing (and as the PNG spec says)', async () => {
    const cases: PngSpec[] = [];
    const depths = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] } as const;
    for (const [type, list] of Object.entries(depths))
      for (const depth of list)
        for (const interlace of [false, true]) {
          const colorType = Number(type) as PngSpec['colorType'];
          cases.push({
            width: 13,
            height: 11,
            colorType,
            depth,
            interlace,
            ...(colorType === 3
              ? {
                  palette: Array.from(
                    { length: 1 << depth },
                    (_, i) => [(i * 7) % 256, (i * 31) % 256, 255 - i] as [number, number, number],
                  ),
                }
              : {}),
          });
        }
    for (const spec of cases) {
      const levels = 2 ** spec.depth;
      const sample = (x: number, y: number, c: number) => (x * 37 + y * 11 + c * 101 + x * y * 13) % levels;
      const png = encodeTestPng(spec, sample);
      // Independent expectation (PNG spec §13.12): scale to 8 bits, 16-bit drops the low byte as
      // libvips does; palette indices look up PLTE; gray fills R=G=B; alpha is dropped.
      const to8 = (v: number) =>
        spec.depth === 16 ? v >> 8 : spec.depth === 8 ? v : (v * 255) / (levels - 1);
      const expected = new Float32Array(13 * 11 * 3);
      for (let y = 0; y < 11; y++)
        for (let x = 0; x < 13; x++)
          for (let c = 0; c < 3; c++) {
            const v =
              spec.colorType === 3
                ? spec.palette![sample(x, y, 0)]![c]!
                : spec.colorType === 0 || spec.colorType === 4
                  ? to8(sample(x, y, 0))
                  : to8(sample(x, y, c));
            expected[(y * 13 + x) * 3 + c] = v;
          }
      const name = `colour type ${spec.colorType}, depth ${spec.depth}${spec.interlace ? ', interlaced' : ''}`;
      for (const backend of ['sharp', 'js'] as const) {
        const img = await decodeImage(png, { backend });
        expect(Array.from(img.data), `${name} on ${backend}`).toEqual(Array.from(expected));
      }
    }
  });

  /**
   * JPEG decoders are not bit-exact: libjpeg-turbo/mozjpeg (sharp) and jpeg-js differ in IDCT
   * rounding (≤ 4 levels) and, for chroma-subsampled files (4:2:0, most photos), in how chroma is
   * upsampled: libjpeg interpolates ("fancy upsampling"), jpeg-js replicates, so colour edges
   * differ by up to ~85 levels (mean ≈ 8 on a noisy image). Measured on this corpus; the README
   * ("Decoders") states the same bounds.
   */
  it('JPEG: within the documented tolerance (4:4:4 ≤ 4 levels; 4:2:0 ≤ 96, mean ≤ 10)', async () => {
    const g = new Generator(9);
    const noisy = Buffer.alloc(96 * 96 * 3);
    for (let i = 0; i < noisy.length; i++)
      noisy[i] = Math.max(0, Math.min(255, 128 + 90 * Math.sin(i / 17) + 25 * g.normal()));
    const scene = rasterizeScene(sampleScene(new Generator(5), { size: 96 }));
    const sceneRgb = Buffer.alloc(96 * 96 * 3);
    for (let p = 0; p < 96 * 96; p++) for (let c = 0; c < 3; c++) sceneRgb[p * 3 + c] = scene[p * 4 + c]!;
    for (const [name, rgb] of [
      ['noisy', noisy],
      ['scene', sceneRgb],
    ] as const) {
      for (const quality of [50, 90]) {
        const enc = (o: object) =>
          sharp(rgb, { raw: { width: 96, height: 96, channels: 3 } })
            .jpeg({ quality, ...o })
            .toBuffer();
        for (const [subsampling, bytes, maxBound, meanBound] of [
          ['4:4:4', await enc({ chromaSubsampling: '4:4:4' }), 4, 1],
          ['4:2:0', await enc({ chromaSubsampling: '4:2:0' }), 96, 10],
          ['4:2:0 progressive', await enc({ progressive: true }), 96, 10],
        ] as const) {
          const a = await decodeImage(bytes, { backend: 'sharp' });
          const b = await decodeImage(bytes, { backend: 'js' });
          let max = 0;
          let sum = 0;
          for (let i = 0; i < a.data.length; i++) {
            const d = Math.abs(a.data[i]! - b.data[i]!);
            max = Math.max(max, d);
            sum += d;
          }
          const what = `${name} q${quality} ${subsampling}`;
          expect(max, what).toBeLessThanOrEqual(maxBound);
          expect(sum / a.data.length, what).toBeLessThanOrEqual(meanBound);
        }
      }
    }
  });
});
