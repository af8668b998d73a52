/**
 * Browser image decoding: `createImageBitmap` + `OffscreenCanvas`. Kept out of the Node entry
 * point (and its tests) because neither API exists in Node.
 */
import { checkEncodedImage, resolvePixelLimit, sniffImageFormat } from './image-bytes.js';
import { ImageDecodeError } from './image-decode-error.js';
import { type RgbImage, rgbFromInterleaved } from './rgb-image.js';

/**
 * Decodes image bytes (or a Blob) in a browser or web worker into an `RgbImage`, with whatever
 * formats the browser decodes. PNG and JPEG headers are checked against `limitInputPixels` before
 * the browser decodes them (default sharp's 268,402,689; `false`: none); every image's size is
 * checked again before the canvas that reads its pixels is allocated.
 *
 * ```ts
 * const img = await decodeImageBrowser(await (await fetch('cat.jpg')).blob(), 'cat.jpg');
 * ```
 */
export async function decodeImageBrowser(
  input: Blob | Uint8Array,
  file = '<blob>',
  options: { limitInputPixels?: number | false } = {},
): Promise<RgbImage> {
  const limit = resolvePixelLimit('decodeImageBrowser', options.limitInputPixels);
  let bitmap: ImageBitmap;
  try {
    const bytes = input instanceof Blob ? new Uint8Array(await input.slice(0, 1 << 16).arrayBuffer()) : input;
    const format = sniffImageFormat(bytes);
    if (format) checkEncodedImage(bytes, format, limit, null);
    const blob = input instanceof Blob ? input : new Blob([input as Uint8Array<ArrayBuffer>]);
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new ImageDecodeError(file, (e as Error).message);
  }
  if (bitmap.width * bitmap.height > limit) {
    bitmap.close();
    throw new ImageDecodeError(
      file,
      `${bitmap.width}×${bitmap.height} = ${(bitmap.width * bitmap.height).toLocaleString('en-US')} pixels is over the limit of ${limit.toLocaleString('en-US')} (limitInputPixels)`,
    );
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new ImageDecodeError(file, 'OffscreenCanvas 2d context unavailable');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return rgbFromInterleaved(data, canvas.width, canvas.height, 4);
}
