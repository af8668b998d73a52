import { ArgumentError, type Tensor, tensor } from '@polymodal/tensor';
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
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ArgumentError('crop', `crop size must be positive integers, got ${width}×${height}`);
  }
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = top + y;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = left + x;
      if (sx < 0 || sx >= img.width) continue;
      const src = (sy * img.width + sx) * 3;
      out.set(img.data.subarray(src, src + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data: out };
}

/**
 * Center crop with HF's offsets: `top = floor((H − h) / 2)`, `left = floor((W − w) / 2)`.
 *
 * ```ts
 * centerCrop(img, 224, 224);
 * ```
 */
export function centerCrop(img: RgbImage, width: number, height: number): RgbImage {
  return crop(img, Math.floor((img.width - width) / 2), Math.floor((img.height - height) / 2), width, height);
}

/** Multiplies every value by `factor` (HF `rescale`, usually 1/255). */
export function rescale(img: RgbImage, factor: number): RgbImage {
  assertImage('rescale', img);
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = img.data[i]! * factor;
  return { width: img.width, height: img.height, data };
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
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (img.data[i]! - mean[i % 3]!) / std[i % 3]!;
  return { width: img.width, height: img.height, data };
}

/** HWC pixels → planar CHW floats (length 3·H·W). */
export function toChw(img: RgbImage): Float32Array {
  assertImage('toChw', img);
  const plane = img.width * img.height;
  const out = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    out[p] = img.data[p * 3]!;
    out[plane + p] = img.data[p * 3 + 1]!;
    out[2 * plane + p] = img.data[p * 3 + 2]!;
  }
  return out;
}

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

/** Same-size images → float32 tensor [N, 3, H, W]; differing sizes throw naming the index. */
export function imagesToTensor(images: readonly RgbImage[]): Tensor {
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
    out.set(toChw(img), i * plane);
  });
  return tensor(out, { shape: [images.length, 3, first.height, first.width], dtype: 'float32' });
}
