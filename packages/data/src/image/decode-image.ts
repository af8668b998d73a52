import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { ArgumentError } from '@polymodal/tensor';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { checkEncodedImage, resolvePixelLimit, sniffImageFormat } from './image-bytes.js';
import { ImageDecodeError } from './image-decode-error.js';
import { type RgbImage, rgbFromInterleaved } from './rgb-image.js';

export interface DecodeOptions {
  /**
   * `'auto'` (default): sharp where it loads on this platform, else the pure-JS codecs. One decoder
   * per platform: a file sharp refuses is refused (it is not handed to the JS codecs), so the same
   * bytes always get the same verdict and pixels on a machine. `'sharp'` / `'js'` force one.
   */
  backend?: 'auto' | 'sharp' | 'js';
  /** Name used in error messages. */
  file?: string;
  /**
   * The most pixels (width × height) an image may declare, checked before any decoder allocates
   * memory for it (decompression bombs); `false` or `0`: no limit. Default 268,402,689, sharp's.
   */
  limitInputPixels?: number | false;
}

type SharpModule = typeof import('sharp').default;
let sharpLoad: Promise<SharpModule | null> | null = null;

/**
 * Loads sharp once (lazily, so importing this package never requires the native binary);
 * resolves to `null` when sharp is unavailable on this platform.
 *
 * ```ts
 * if (!(await loadSharp())) console.warn('sharp missing: using the pure-JS codecs');
 * ```
 */
export function loadSharp(): Promise<SharpModule | null> {
  sharpLoad ??= import('sharp').then(
    (m) => m.default,
    () => null,
  );
  return sharpLoad;
}

/** The error text for bytes of no format we read (shared with the decode pool's workers). */
export const UNKNOWN_FORMAT = 'not a PNG, JPEG, WebP, GIF, TIFF or AVIF image (unknown magic bytes)';

/** libvips reports one line per warning, often repeated: one line, each distinct part once. */
export function oneLine(message: string): string {
  return [
    ...new Set(
      message
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  ].join('; ');
}

/** zlib inflate that stops at `max` bytes (the PNG check inflates one byte past what it needs). */
const inflateAtMost = (data: Uint8Array, max: number): Uint8Array =>
  inflateSync(data, { maxOutputLength: max });

async function decodeWithSharp(sharp: SharpModule, bytes: Uint8Array, limit: number): Promise<RgbImage> {
  // The first frame of an animated GIF/WebP or multi-page TIFF, converted to 8-bit sRGB.
  const { data, info } = await sharp(bytes, { limitInputPixels: Number.isFinite(limit) ? limit : false })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return rgbFromInterleaved(data, info.width, info.height, info.channels);
}

/**
 * Pure-JS decode with pngjs / jpeg-js (works everywhere, slower than sharp; PNG and JPEG only).
 * Checked first: the declared size against `limitInputPixels`, and for PNG that the compressed
 * data holds exactly the declared pixels. Pixels match sharp's exactly for PNG; for JPEG they
 * differ (see the package README, "Decoders").
 *
 * ```ts
 * const img = decodeImageJs(readFileSync('cat.png'), 'cat.png');
 * ```
 */
export function decodeImageJs(
  bytes: Uint8Array,
  file = '<bytes>',
  options: { limitInputPixels?: number | false } = {},
): RgbImage {
  const limit = resolvePixelLimit('decodeImageJs', options.limitInputPixels);
  assertBytes('decodeImageJs', bytes);
  const format = sniffImageFormat(bytes);
  if (format === null) throw new ImageDecodeError(file, UNKNOWN_FORMAT);
  if (format !== 'png' && format !== 'jpeg')
    throw new ImageDecodeError(
      file,
      `${format}: the pure-JS decoders read PNG and JPEG only; ${format} needs sharp`,
    );
  try {
    checkEncodedImage(bytes, format, limit, inflateAtMost);
  } catch (e) {
    throw new ImageDecodeError(file, (e as Error).message);
  }
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (format === 'png') {
      // 16-bit samples become 8-bit by dropping the low byte, as sharp (libvips) does; pngjs's own
      // rescale rounds, one level away on a third of the values.
      const sixteen = bytes[24] === 16; // IHDR's bit depth (the check above put IHDR first)
      const png = PNG.sync.read(buf, sixteen ? { skipRescale: true } : {});
      const data = sixteen ? Uint8Array.from(png.data as unknown as Uint16Array, (v) => v >> 8) : png.data;
      return rgbFromInterleaved(data, png.width, png.height, 4);
    }
    const img = jpeg.decode(buf, {
      useTArray: true,
      formatAsRGBA: true,
      tolerantDecoding: false,
      ...jpegLimits(limit),
    });
    return rgbFromInterleaved(img.data, img.width, img.height, 4);
  } catch (e) {
    throw new ImageDecodeError(file, `${format}: ${(e as Error).message}`);
  }
}

/** Encoded images arrive as bytes (a Buffer is a Uint8Array); anything else is a caller's slip. */
function assertBytes(op: string, bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array))
    throw new ArgumentError(
      op,
      `bytes must be a Uint8Array (or Buffer), got ${bytes === null ? 'null' : typeof bytes}`,
    );
}

/** jpeg-js's own guards, as a backstop where the frame header was not found before decoding. */
function jpegLimits(limit: number): { maxResolutionInMP: number; maxMemoryUsageInMB: number } {
  if (!Number.isFinite(limit))
    return { maxResolutionInMP: Number.POSITIVE_INFINITY, maxMemoryUsageInMB: Number.POSITIVE_INFINITY };
  // Coefficients (2 bytes × 3 components) and RGBA output come to about 12 bytes a pixel.
  return {
    maxResolutionInMP: limit / 1e6,
    maxMemoryUsageInMB: Math.max(512, Math.ceil((limit * 16) / 2 ** 20)),
  };
}

/**
 * Decodes PNG, JPEG, WebP, GIF, TIFF or AVIF bytes into an `RgbImage` (HWC float in [0, 255]) in
 * Node: sharp where it loads, else pngjs / jpeg-js (PNG and JPEG only). Before any decoder runs,
 * the declared size is checked against `limitInputPixels` (default sharp's 268,402,689). Corrupt,
 * truncated, oversized or unsupported input throws `ImageDecodeError` naming the file; the same
 * bytes always give the same result.
 *
 * ```ts
 * const img = await decodeImage(await readFile('cat.jpg'), { file: 'cat.jpg' });
 * img.width; img.height; img.data.length; // W·H·3
 * ```
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const file = options.file ?? '<bytes>';
  const backend = options.backend ?? 'auto';
  const limit = resolvePixelLimit('decodeImage', options.limitInputPixels);
  assertBytes('decodeImage', bytes);
  const format = sniffImageFormat(bytes);
  if (format === null) throw new ImageDecodeError(file, UNKNOWN_FORMAT);
  if (backend !== 'js') {
    const sharp = await loadSharp();
    if (sharp) {
      try {
        // The size check on the header alone (cheap); sharp enforces the limit for every format too.
        checkEncodedImage(bytes, format, limit, null);
        return await decodeWithSharp(sharp, bytes, limit);
      } catch (e) {
        throw new ImageDecodeError(file, oneLine((e as Error).message));
      }
    }
    if (backend === 'sharp') throw new ImageDecodeError(file, 'sharp is not available on this platform');
  }
  return decodeImageJs(bytes, file, { limitInputPixels: options.limitInputPixels });
}

/**
 * Reads and decodes an image file (the options of `decodeImage`):
 * `await decodeImageFile('images/COCO_val2014_000000000042.jpg')`.
 */
export async function decodeImageFile(
  path: string,
  options: Omit<DecodeOptions, 'file'> = {},
): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ImageDecodeError(path, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
  return decodeImage(bytes, { ...options, file: path });
}

/**
 * Encodes an `RgbImage` as PNG with pngjs (values rounded and clamped to 0..255); used for
 * fixtures and tests.
 *
 * ```ts
 * await writeFile('out.png', encodePng(img));
 * ```
 */
export function encodePng(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++)
      png.data[p * 4 + c] = Math.max(0, Math.min(255, Math.round(img.data[p * 3 + c]!)));
    png.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** Encodes an `RgbImage` as baseline JPEG with jpeg-js (`quality` 1–100, default 90). */
export function encodeJpeg(img: RgbImage, quality = 90): Buffer {
  const rgba = Buffer.alloc(img.width * img.height * 4);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++)
      rgba[p * 4 + c] = Math.max(0, Math.min(255, Math.round(img.data[p * 3 + c]!)));
    rgba[p * 4 + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width: img.width, height: img.height }, quality).data;
}
