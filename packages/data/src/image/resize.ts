import { ArgumentError } from '@polymodal/tensor';
import { kernels } from './pixel-kernels.js';
import { assertImage, type RgbImage } from './rgb-image.js';

/** Resampling filters, named as PIL's (`PIL.Image.Resampling`). */
export type Resample = 'nearest' | 'box' | 'bilinear' | 'bicubic' | 'lanczos';

const RESAMPLES: readonly Resample[] = ['nearest', 'box', 'bilinear', 'bicubic', 'lanczos'];

/** PIL's integer codes, as stored in HF `preprocessor_config.json` `resample`. */
export const PIL_RESAMPLE: Record<number, Resample> = {
  0: 'nearest',
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
  4: 'box',
};

/**
 * Resizes to exactly `width × height` with PIL's separable convolution resampling (the algorithm
 * behind `Image.resize` that Hugging Face image processors call), computed on float RGB: bilinear
 * and bicubic (a = −0.5) with antialiasing when shrinking, box, lanczos, and nearest. The
 * arithmetic lives in `pixelKernels` (shared with the decode pool's workers).
 *
 * ```ts
 * const small = resize(img, 224, 224, 'bicubic'); // [H, W, 3] → [224, 224, 3]
 * ```
 */
export function resize(
  img: RgbImage,
  width: number,
  height: number,
  resample: Resample = 'bilinear',
): RgbImage {
  assertImage('resize', img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ArgumentError('resize', `target size must be positive integers, got ${width}×${height}`);
  }
  if (!RESAMPLES.includes(resample))
    throw new ArgumentError('resize', `unknown resample ${String(resample)}`);
  return kernels.resize(img, width, height, resample);
}

/**
 * Output size when the shorter side becomes `size`, the longer keeps the aspect ratio (HF
 * `get_resize_output_image_size(default_to_square=False)`: the long side is `int(size·long/short)`).
 *
 * ```ts
 * shortestEdgeSize(640, 480, 224); // { width: 298, height: 224 }
 * ```
 */
export function shortestEdgeSize(
  width: number,
  height: number,
  size: number,
): { width: number; height: number } {
  return kernels.shortestEdgeSize(width, height, size);
}

/** Resizes so the shorter edge is `size`: `resizeShortestEdge(img, 224, 'bicubic')`. */
export function resizeShortestEdge(img: RgbImage, size: number, resample: Resample = 'bilinear'): RgbImage {
  const { width, height } = shortestEdgeSize(img.width, img.height, size);
  return resize(img, width, height, resample);
}
