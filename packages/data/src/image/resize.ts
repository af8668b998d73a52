import { ArgumentError } from '@polymodal/tensor';
import { assertImage, type RgbImage } from './rgb-image.js';

/** Resampling filters, named as PIL's (`PIL.Image.Resampling`). */
export type Resample = 'nearest' | 'box' | 'bilinear' | 'bicubic' | 'lanczos';

/** PIL's integer codes, as stored in HF `preprocessor_config.json` `resample`. */
export const PIL_RESAMPLE: Record<number, Resample> = {
  0: 'nearest',
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
  4: 'box',
};

const BICUBIC_A = -0.5;

const FILTERS: Record<Exclude<Resample, 'nearest'>, { support: number; f: (x: number) => number }> = {
  box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, f: (x) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    support: 2,
    f: (x) => {
      x = Math.abs(x);
      if (x < 1) return ((BICUBIC_A + 2) * x - (BICUBIC_A + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
      return 0;
    },
  },
  lanczos: {
    support: 3,
    f: (x) => {
      if (x <= -3 || x >= 3) return 0;
      return sinc(x) * sinc(x / 3);
    },
  },
};

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array[];
}

/** PIL `precompute_coeffs`: one weight window per output pixel; the filter widens when shrinking (antialias). */
function computeTaps(inSize: number, outSize: number, resample: Exclude<Resample, 'nearest'>): Taps {
  const { support: baseSupport, f } = FILTERS[resample];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = baseSupport * filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const w = new Float64Array(Math.max(xmax, 0));
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const v = f((x + xmin - center + 0.5) / filterScale);
      w[x] = v;
      total += v;
    }
    if (total !== 0) for (let x = 0; x < xmax; x++) w[x]! /= total;
    start[i] = xmin;
    count[i] = xmax;
    weights.push(w);
  }
  return { start, count, weights };
}

/**
 * Resizes to exactly `width × height` with PIL's separable convolution resampling (the algorithm
 * behind `Image.resize` that Hugging Face image processors call), computed on float RGB: bilinear
 * and bicubic (a = −0.5) with antialiasing when shrinking, box, lanczos, and nearest.
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
  if (resample === 'nearest') return resizeNearest(img, width, height);
  if (!(resample in FILTERS)) throw new ArgumentError('resize', `unknown resample ${String(resample)}`);
  // Horizontal pass then vertical, as PIL does.
  const h = computeTaps(img.width, width, resample);
  const tmp = new Float64Array(width * img.height * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < width; x++) {
      const s = h.start[x]!;
      const w = h.weights[x]!;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < w.length; k++) {
        const src = (y * img.width + s + k) * 3;
        const wk = w[k]!;
        r += img.data[src]! * wk;
        g += img.data[src + 1]! * wk;
        b += img.data[src + 2]! * wk;
      }
      const dst = (y * width + x) * 3;
      tmp[dst] = r;
      tmp[dst + 1] = g;
      tmp[dst + 2] = b;
    }
  }
  const v = computeTaps(img.height, height, resample);
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const s = v.start[y]!;
    const w = v.weights[y]!;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < w.length; k++) {
        const src = ((s + k) * width + x) * 3;
        const wk = w[k]!;
        r += tmp[src]! * wk;
        g += tmp[src + 1]! * wk;
        b += tmp[src + 2]! * wk;
      }
      const dst = (y * width + x) * 3;
      out[dst] = r;
      out[dst + 1] = g;
      out[dst + 2] = b;
    }
  }
  return { width, height, data: out };
}

function resizeNearest(img: RgbImage, width: number, height: number): RgbImage {
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / width));
      const src = (sy * img.width + sx) * 3;
      out.set(img.data.subarray(src, src + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data: out };
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
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? { width: size, height: newLong } : { width: newLong, height: size };
}

/** Resizes so the shorter edge is `size`: `resizeShortestEdge(img, 224, 'bicubic')`. */
export function resizeShortestEdge(img: RgbImage, size: number, resample: Resample = 'bilinear'): RgbImage {
  const { width, height } = shortestEdgeSize(img.width, img.height, size);
  return resize(img, width, height, resample);
}
