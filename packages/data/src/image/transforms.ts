import { ArgumentError, type Tensor, tensor } from '@polymodal/tensor';
import { checkImageSize } from './image-size.js';
import { kernels } from './pixel-kernels.js';
import { assertImage, type RgbImage } from './rgb-image.js';

/** ImageNet channel statistics on [0, 1] pixels (torchvision / HF `IMAGENET_DEFAULT_MEAN/STD`). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** CLIP's statistics (Radford et al. 2021; HF `OPENAI_CLIP_MEAN/STD`). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/**
 * Crops the rectangle at (`left`, `top`) of size `width × height`; parts outside the image are
 * zero-filled (as HF `center_crop` pads when the crop is larger).
 *
 * ```ts
 * crop(img, 2, 2, 28, 28); // [H, W, 3] → [28, 28, 3]
 * ```
 */
export function crop(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  assertImage('crop', img);
  checkImageSize('crop', 'crop size', width, height);
  return kernels.crop(img, left, top, width, height);
}

/**
 * Center crop with HF's offsets: `top = floor((H − h) / 2)`, `left = floor((W − w) / 2)`.
 *
 * ```ts
 * centerCrop(img, 224, 224);
 * ```
 */
export function centerCrop(img: RgbImage, width: number, height: number): RgbImage {
  assertImage('centerCrop', img);
  checkImageSize('centerCrop', 'crop size', width, height);
  return kernels.centerCrop(img, width, height);
}

/** Multiplies every value by `factor` (HF `rescale`, usually 1/255). */
export function rescale(img: RgbImage, factor: number): RgbImage {
  assertImage('rescale', img);
  return kernels.rescale(img, factor);
}

/**
 * Per-channel `(x − mean[c]) / std[c]` (HF `normalize`); pass `IMAGENET_MEAN/STD` or
 * `CLIP_MEAN/STD` after `rescale(img, 1/255)`.
 */
export function normalize(img: RgbImage, mean: readonly number[], std: readonly number[]): RgbImage {
  assertImage('normalize', img);
  if (mean.length !== 3 || std.length !== 3) {
    throw new ArgumentError('normalize', `mean and std need 3 values, got ${mean.length} and ${std.length}`);
  }
  if (std.some((s) => !(s > 0)))
    throw new ArgumentError('normalize', `std must be positive, got [${std.join(', ')}]`);
  return kernels.normalize(img, mean, std);
}

/** HWC pixels → planar CHW floats (length 3·H·W). */
export function toChw(img: RgbImage): Float32Array {
  assertImage('toChw', img);
  return kernels.toChw(img);
}

/**
 * A preprocessed image already in planar channel-first order: `chw` holds the R plane, then G,
 * then B (3·H·W floats). What `ImageDecodePool.preprocess` returns and `collate` stacks without
 * another transpose.
 */
export interface ChwImage {
  width: number;
  height: number;
  chw: Float32Array;
}

/** `RgbImage` (HWC) → `ChwImage`: `toChwImage(processor.preprocess(img))`. */
export function toChwImage(img: RgbImage): ChwImage {
  return { width: img.width, height: img.height, chw: toChw(img) };
}

const isChw = (img: RgbImage | ChwImage): img is ChwImage => 'chw' in img;

/**
 * One image → float32 tensor [3, H, W].
 *
 * ```ts
 * imageToTensor(normalize(rescale(img, 1 / 255), IMAGENET_MEAN, IMAGENET_STD)).shape; // [3, H, W]
 * ```
 */
export function imageToTensor(img: RgbImage): Tensor {
  return tensor(toChw(img), { shape: [3, img.height, img.width], dtype: 'float32' });
}

/**
 * Same-size images (HWC `RgbImage`s or `ChwImage`s, mixed freely) → float32 tensor [N, 3, H, W];
 * differing sizes throw naming the index.
 */
export function imagesToTensor(images: readonly (RgbImage | ChwImage)[]): Tensor {
  const first = images[0];
  if (!first) throw new ArgumentError('imagesToTensor', 'needs at least one image');
  const plane = first.width * first.height * 3;
  const out = new Float32Array(plane * images.length);
  images.forEach((img, i) => {
    if (img.width !== first.width || img.height !== first.height) {
      throw new ArgumentError(
        'imagesToTensor',
        `images[${i}] is ${img.width}×${img.height}, images[0] is ${first.width}×${first.height}; resize/crop first`,
      );
    }
    if (isChw(img)) {
      if (img.chw.length !== plane)
        throw new ArgumentError(
          'imagesToTensor',
          `images[${i}].chw has ${img.chw.length} values, expected ${plane}`,
        );
      out.set(img.chw, i * plane);
    } else {
      out.set(toChw(img), i * plane);
    }
  });
  return tensor(out, { shape: [images.length, 3, first.height, first.width], dtype: 'float32' });
}
