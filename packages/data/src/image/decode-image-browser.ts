/**
 * Browser image decoding: `createImageBitmap` + `OffscreenCanvas`. Kept out of the Node entry
 * point (and its tests) because neither API exists in Node.
 */
import { ImageDecodeError } from './image-decode-error.js';
import { type RgbImage, rgbFromInterleaved } from './rgb-image.js';

/**
 * Decodes PNG/JPEG bytes (or a Blob) in a browser or web worker into an `RgbImage`.
 *
 * ```ts
 * const img = await decodeImageBrowser(await (await fetch('cat.jpg')).blob(), 'cat.jpg');
 * ```
 */
export async function decodeImageBrowser(input: Blob | Uint8Array, file = '<blob>'): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    const blob = input instanceof Blob ? input : new Blob([input as Uint8Array<ArrayBuffer>]);
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new ImageDecodeError(file, (e as Error).message);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new ImageDecodeError(file, 'OffscreenCanvas 2d context unavailable');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return rgbFromInterleaved(data, canvas.width, canvas.height, 4);
}
