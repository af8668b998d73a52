import { ArgumentError } from '@polymodal/tensor';
import { checkImageSize } from './image-size.js';
import { kernels } from './pixel-kernels.js';

/**
 * A decoded RGB image as float pixels in height × width × 3 (HWC) order, values nominally in
 * [0, 255] until `rescale`. Every transform in this package reads and writes this type, so results
 * never depend on which codec decoded the file.
 */
export interface RgbImage {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Wraps interleaved 8-bit pixels with `channels` per pixel (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)
 * as an `RgbImage`; alpha is dropped like PIL's `convert('RGB')`.
 *
 * ```ts
 * const img = rgbFromInterleaved(rgba, 32, 32, 4); // data.length === 32 * 32 * 3
 * ```
 */
export function rgbFromInterleaved(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
): RgbImage {
  if (pixels.length < width * height * channels) {
    throw new ArgumentError('rgbFromInterleaved', `${pixels.length} values < ${width}×${height}×${channels}`);
  }
  return kernels.fromInterleaved(pixels, width, height, channels);
}

/** A blank (or constant) image, mostly for tests: `createImage(4, 2, [255, 0, 0])`. */
export function createImage(
  width: number,
  height: number,
  fill: readonly [number, number, number] = [0, 0, 0],
): RgbImage {
  checkImageSize('createImage', 'size', width, height);
  const data = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(fill, p * 3);
  return { width, height, data };
}

/** Pixel accessor for tests and small tools: `[r, g, b]` at column x, row y. */
export function pixelAt(img: RgbImage, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

/** Throws `ArgumentError` (naming `op`) unless `img` has positive integer size and W·H·3 values. */
export function assertImage(op: string, img: RgbImage): void {
  checkImageSize(op, 'image size', img.width, img.height);
  if (img.data.length !== img.width * img.height * 3) {
    throw new ArgumentError(
      op,
      `image data has ${img.data.length} values, expected ${img.width}×${img.height}×3`,
    );
  }
}
