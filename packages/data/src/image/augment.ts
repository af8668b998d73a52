import { ArgumentError, checkInRange, type Generator } from '@polymodal/tensor';
import { type Resample, resize } from './resize.js';
import { assertImage, type RgbImage } from './rgb-image.js';
import { crop } from './transforms.js';

export interface RandomResizedCropOptions {
  /** Output size (square when a number). */
  size: number | { width: number; height: number };
  /** Range of the crop's area as a fraction of the image. Default [0.08, 1]. */
  scale?: readonly [number, number];
  /** Range of the crop's aspect ratio w/h, sampled log-uniformly. Default [3/4, 4/3]. */
  ratio?: readonly [number, number];
  resample?: Resample;
  generator: Generator;
}

/**
 * torchvision's `RandomResizedCrop.get_params`: up to 10 tries of a random area fraction and
 * log-uniform aspect ratio; falls back to the largest centered crop within `ratio`.
 * Returns the crop box; `randomResizedCrop` applies it.
 */
export function sampleResizedCropBox(
  width: number,
  height: number,
  generator: Generator,
  scale: readonly [number, number] = [0.08, 1],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): { left: number; top: number; width: number; height: number } {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + generator.uniform() * (scale[1] - scale[0]));
    const aspect = Math.exp(logLo + generator.uniform() * (logHi - logLo));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return {
        top: generator.integer(0, height - h + 1),
        left: generator.integer(0, width - w + 1),
        width: w,
        height: h,
      };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), width: w, height: h };
}

/**
 * Random crop of random area and aspect ratio, resized to `size` (Szegedy et al. 2015,
 * "Going Deeper with Convolutions"; torchvision `RandomResizedCrop`). Seeded through `generator`.
 *
 * ```ts
 * const g = new Generator(0);
 * randomResizedCrop(img, { size: 32, generator: g, scale: [0.5, 1] }); // → 32×32
 * ```
 */
export function randomResizedCrop(img: RgbImage, options: RandomResizedCropOptions): RgbImage {
  assertImage('randomResizedCrop', img);
  const out = typeof options.size === 'number' ? { width: options.size, height: options.size } : options.size;
  const box = sampleResizedCropBox(img.width, img.height, options.generator, options.scale, options.ratio);
  return resize(
    crop(img, box.left, box.top, box.width, box.height),
    out.width,
    out.height,
    options.resample ?? 'bilinear',
  );
}

export interface ColorJitterOptions {
  /** Factor drawn from [max(0, 1 − b), 1 + b]. Default 0 (off). */
  brightness?: number;
  contrast?: number;
  saturation?: number;
  generator: Generator;
}

const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

/**
 * Brightness, contrast and saturation jitter with torchvision's blend formulas, in that order,
 * values clamped to [0, 255]. Hue is deliberately not offered: it changes which colour an object
 * is and would make "what colour is …" answers wrong.
 *
 * ```ts
 * colorJitter(img, { brightness: 0.2, contrast: 0.2, saturation: 0.2, generator: new Generator(1) });
 * ```
 */
export function colorJitter(img: RgbImage, options: ColorJitterOptions): RgbImage {
  assertImage('colorJitter', img);
  const draw = (amount: number | undefined): number => {
    if (!amount) return 1;
    if (amount < 0) throw new ArgumentError('colorJitter', `jitter amounts must be ≥ 0, got ${amount}`);
    const lo = Math.max(0, 1 - amount);
    return lo + options.generator.uniform() * (1 + amount - lo);
  };
  const b = draw(options.brightness);
  const c = draw(options.contrast);
  const s = draw(options.saturation);
  const data = new Float32Array(img.data.length);
  const n = img.width * img.height;
  const clamp = (v: number) => Math.min(255, Math.max(0, v));
  for (let i = 0; i < data.length; i++) data[i] = clamp(img.data[i]! * b);
  if (c !== 1) {
    let meanGray = 0;
    for (let p = 0; p < n; p++) meanGray += luma(data[p * 3]!, data[p * 3 + 1]!, data[p * 3 + 2]!);
    meanGray /= n;
    for (let i = 0; i < data.length; i++) data[i] = clamp(c * data[i]! + (1 - c) * meanGray);
  }
  if (s !== 1) {
    for (let p = 0; p < n; p++) {
      const gray = luma(data[p * 3]!, data[p * 3 + 1]!, data[p * 3 + 2]!);
      for (let k = 0; k < 3; k++) data[p * 3 + k] = clamp(s * data[p * 3 + k]! + (1 - s) * gray);
    }
  }
  return { width: img.width, height: img.height, data };
}

/** Mirrors the image left↔right. */
export function horizontalFlip(img: RgbImage): RgbImage {
  assertImage('horizontalFlip', img);
  const data = new Float32Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const src = (y * img.width + x) * 3;
      data.set(img.data.subarray(src, src + 3), (y * img.width + (img.width - 1 - x)) * 3);
    }
  }
  return { width: img.width, height: img.height, data };
}

/**
 * Swaps the words left ↔ right (keeping case, and -most/-ward suffixes), so a question about a
 * flipped image still has the same answer: `"Is the cube left of the ball?"` → `"… right of …"`.
 */
export function swapLeftRight(text: string): string {
  return text.replace(/\b(left|right)(most|wards?)?\b/gi, (_m, word: string, suffix: string | undefined) => {
    const swapped = word.toLowerCase() === 'left' ? 'right' : 'left';
    const cased =
      word === word.toUpperCase()
        ? swapped.toUpperCase()
        : word[0] === word[0]!.toUpperCase()
          ? swapped[0]!.toUpperCase() + swapped.slice(1)
          : swapped;
    return cased + (suffix ?? '');
  });
}

export interface RandomFlipOptions {
  /** Probability of flipping. Default 0.5. */
  p?: number;
  generator: Generator;
  /**
   * Rewrites the text of a flipped sample (question, answer, caption). Required on purpose: a flip
   * without it would silently corrupt left/right questions. Use `swapLeftRight`.
   */
  rewriteText: (text: string) => string;
}

/**
 * Flips an image and its texts together with probability `p`.
 *
 * ```ts
 * const { image, texts } = randomHorizontalFlip(img, ['Is the cube left of the ball?', 'yes'], {
 *   generator: g, rewriteText: swapLeftRight });
 * ```
 */
export function randomHorizontalFlip(
  img: RgbImage,
  texts: readonly string[],
  options: RandomFlipOptions,
): { image: RgbImage; texts: string[]; flipped: boolean } {
  if (typeof options.rewriteText !== 'function') {
    throw new ArgumentError(
      'randomHorizontalFlip',
      'rewriteText is required (e.g. swapLeftRight) so answers stay valid',
    );
  }
  const p = options.p ?? 0.5;
  checkInRange('randomHorizontalFlip', 'p', p, 0, 1);
  if (options.generator.uniform() >= p) return { image: img, texts: [...texts], flipped: false };
  return { image: horizontalFlip(img), texts: texts.map(options.rewriteText), flipped: true };
}
