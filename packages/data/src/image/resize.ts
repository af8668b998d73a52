import { ArgumentError } from '@polymodal/tensor';
import { checkImageSize } from './image-size.js';
import { kernels } from './pixel-kernels.js';
import { assertImage, type RgbImage } from './rgb-image.js';

/** Resampling filters, named as PIL's (`PIL.Image.Resampling`). */
export type Resample = 'nearest' | 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

const RESAMPLES: readonly Resample[] = ['nearest', 'box', 'bilinear', 'hamming', 'bicubic', 'lanczos'];

/** PIL's integer codes, as stored in HF `preprocessor_config.json` `resample`. */
export const PIL_RESAMPLE: Record<number, Resample> = {
  0: 'nearest',
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
  4: 'box',
  5: 'hamming',
};

export interface ResizeOptions {
  /**
   * Resample 8-bit pixels as PIL does for an RGB image (fixed-point weights, each pass rounded and
   * clipped to [0, 255]), which is what Hugging Face's image processors compute. The image must hold
   * integers in [0, 255] (a decoded image does). Default false: the same filters on floats.
   */
  uint8?: boolean;
}

/**
 * Throws `ArgumentError` (naming `op`) unless every value of `img` is an integer in [0, 255], as
 * 8-bit resampling needs.
 */
export function assertBytes(op: string, img: RgbImage): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (!(v >= 0 && v <= 255 && Math.round(v) === v)) {
      const p = Math.floor(i / 3);
      throw new ArgumentError(
        op,
        `8-bit resampling needs integer pixels in [0, 255] (as decoded); got ${v} at x=${p % img.width}, y=${Math.floor(p / img.width)}. Round first, or resample floats (uint8: false / resampleIn: 'float')`,
      );
    }
  }
}

/**
 * Resizes to exactly `width × height` with PIL's separable convolution resampling (the algorithm
 * behind `Image.resize` that Hugging Face image processors call): bilinear and bicubic (a = −0.5)
 * with antialiasing when shrinking, hamming, box, lanczos, and nearest, with PIL's weights. On
 * floats by default; `{ uint8: true }` reproduces PIL on an 8-bit image exactly (fixed-point
 * weights, bytes after each pass). The arithmetic lives in `pixelKernels` (shared with the decode
 * pool's workers).
 *
 * ```ts
 * const small = resize(img, 224, 224, 'bicubic'); // [H, W, 3] → [224, 224, 3]
 * const asPil = resize(img, 224, 224, 'bicubic', { uint8: true }); // = np.array(pil.resize((224, 224), 3))
 * ```
 */
export function resize(
  img: RgbImage,
  width: number,
  height: number,
  resample: Resample = 'bilinear',
  options: ResizeOptions = {},
): RgbImage {
  assertImage('resize', img);
  checkImageSize('resize', 'target size', width, height);
  if (!RESAMPLES.includes(resample))
    throw new ArgumentError('resize', `unknown resample ${String(resample)}`);
  if (options.uint8) {
    assertBytes('resize', img);
    return kernels.resizeBytes(img, width, height, resample);
  }
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
export function resizeShortestEdge(
  img: RgbImage,
  size: number,
  resample: Resample = 'bilinear',
  options: ResizeOptions = {},
): RgbImage {
  const { width, height } = shortestEdgeSize(img.width, img.height, size);
  return resize(img, width, height, resample, options);
}
