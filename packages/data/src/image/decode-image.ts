import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ImageDecodeError } from './image-decode-error.js';
import { type RgbImage, rgbFromInterleaved } from './rgb-image.js';

export interface DecodeOptions {
  /** `'auto'` (default): sharp, then the pure-JS codecs if sharp is missing or fails. */
  backend?: 'auto' | 'sharp' | 'js';
  /** Name used in error messages. */
  file?: string;
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

/** Which codec a byte string claims to be, from its magic number. */
export function sniffImageFormat(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return 'png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

async function decodeWithSharp(sharp: SharpModule, bytes: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return rgbFromInterleaved(data, info.width, info.height, info.channels);
}

/** Pure-JS decode with pngjs / jpeg-js (works everywhere, slower than sharp). */
export function decodeImageJs(bytes: Uint8Array, file = '<bytes>'): RgbImage {
  const format = sniffImageFormat(bytes);
  if (format === null) throw new ImageDecodeError(file, 'not a PNG or JPEG (unknown magic bytes)');
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (format === 'png') {
      const png = PNG.sync.read(buf);
      return rgbFromInterleaved(png.data, png.width, png.height, 4);
    }
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false });
    return rgbFromInterleaved(img.data, img.width, img.height, 4);
  } catch (e) {
    throw new ImageDecodeError(file, `${format}: ${(e as Error).message}`);
  }
}

/**
 * Decodes PNG/JPEG bytes into an `RgbImage` (HWC float in [0, 255]) in Node: sharp when it loads,
 * otherwise pngjs / jpeg-js. Corrupt or truncated input throws `ImageDecodeError` naming the file.
 *
 * ```ts
 * const img = await decodeImage(await readFile('cat.jpg'), { file: 'cat.jpg' });
 * img.width; img.height; img.data.length; // W·H·3
 * ```
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const file = options.file ?? '<bytes>';
  const backend = options.backend ?? 'auto';
  if (sniffImageFormat(bytes) === null)
    throw new ImageDecodeError(file, 'not a PNG or JPEG (unknown magic bytes)');
  if (backend !== 'js') {
    const sharp = await loadSharp();
    if (sharp) {
      try {
        return await decodeWithSharp(sharp, bytes);
      } catch (e) {
        if (backend === 'sharp') throw new ImageDecodeError(file, (e as Error).message);
        // 'auto': sharp refused it; the JS codecs get a chance before we give up.
      }
    } else if (backend === 'sharp') {
      throw new ImageDecodeError(file, 'sharp is not available on this platform');
    }
  }
  return decodeImageJs(bytes, file);
}

/** Reads and decodes an image file: `await decodeImageFile('images/COCO_val2014_000000000042.jpg')`. */
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
