import type { Resample } from './resize.js';
import type { RgbImage } from './rgb-image.js';

/**
 * What `ImageProcessor` does to one image, resolved and validated from its Hugging Face keys:
 * plain JSON, so it can be posted to a decode worker. `null` skips a step.
 */
export interface PreprocessPlan {
  resize: { kind: 'shortest'; edge: number } | { kind: 'exact'; width: number; height: number } | null;
  resample: Resample;
  /** Center crop to this size (zero-padded when larger than the image). */
  crop: { width: number; height: number } | null;
  /** Multiply by this factor (usually 1/255). */
  rescale: number | null;
  /** Per-channel `(x − mean) / std`. */
  normalize: { mean: number[]; std: number[] } | null;
}

/**
 * The pixel arithmetic of image preprocessing (interleaved bytes → float RGB, PIL-exact resize,
 * crop, rescale, normalize, HWC → CHW) as ONE self-contained factory: every helper is declared
 * inside it and it reads nothing from the enclosing module (no imports, no module constants),
 * only JavaScript built-ins.
 *
 * Why a factory: the same code has to run on the main thread (`resize`, `ImageProcessor`, … call
 * `kernels` below) and inside the `ImageDecodePool` workers, whose source is a string evaluated
 * with `new Worker(src, { eval: true })` so that it runs unchanged from the TypeScript sources
 * (tests) and from either bundle (Node 20 cannot load a `.ts` worker file, and a separate worker
 * entry would need its own build output and path lookup). The worker source embeds
 * `pixelKernels.toString()` and calls it, so both threads execute the very same function text and
 * produce bit-identical floats; there is no second copy to drift. The rules that keep this true:
 * nothing inside may refer to an import or a module-level binding (a test evaluates the text in an
 * empty `vm` context), and builds must not inject helpers into function bodies (tsup/esbuild
 * without `keepNames`, vitest's v8 coverage; istanbul instrumentation would break it). Argument
 * checking stays outside, in the public wrappers, which throw the package's typed errors.
 *
 * ```ts
 * const k = pixelKernels();
 * const { chw } = k.preprocessToChw(k.fromInterleaved(rgba, w, h, 4), processor.plan); // [3, H, W]
 * ```
 */
export function pixelKernels() {
  const BICUBIC_A = -0.5;

  function sinc(x: number): number {
    if (x === 0) return 1;
    const px = Math.PI * x;
    return Math.sin(px) / px;
  }

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

  /** Interleaved 8-bit pixels (1–4 channels) → float RGB; alpha dropped, gray replicated. */
  function fromInterleaved(
    pixels: ArrayLike<number>,
    width: number,
    height: number,
    channels: number,
  ): RgbImage {
    const data = new Float32Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      const s = p * channels;
      if (channels >= 3) {
        data[p * 3] = pixels[s]!;
        data[p * 3 + 1] = pixels[s + 1]!;
        data[p * 3 + 2] = pixels[s + 2]!;
      } else {
        const g = pixels[s]!;
        data[p * 3] = g;
        data[p * 3 + 1] = g;
        data[p * 3 + 2] = g;
      }
    }
    return { width, height, data };
  }

  /** PIL `precompute_coeffs`: one weight window per output pixel; the filter widens when shrinking. */
  function computeTaps(inSize: number, outSize: number, resample: Exclude<Resample, 'nearest'>) {
    const { support: baseSupport, f } = FILTERS[resample];
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    const support = baseSupport * filterScale;
    const start = new Int32Array(outSize);
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
      weights.push(w);
    }
    return { start, weights };
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

  /** PIL's separable resampling on float RGB: horizontal pass (float64), then vertical. */
  function resize(img: RgbImage, width: number, height: number, resample: Resample): RgbImage {
    if (resample === 'nearest') return resizeNearest(img, width, height);
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

  /** HF `get_resize_output_image_size(default_to_square=False)`: long side `int(size·long/short)`. */
  function shortestEdgeSize(width: number, height: number, size: number) {
    const short = Math.min(width, height);
    const long = Math.max(width, height);
    const newLong = Math.trunc((size * long) / short);
    return width <= height ? { width: size, height: newLong } : { width: newLong, height: size };
  }

  /** The `width × height` rectangle at (`left`, `top`); outside parts are zero. */
  function crop(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
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

  /** HF offsets: `top = floor((H − h) / 2)`, `left = floor((W − w) / 2)`. */
  function centerCrop(img: RgbImage, width: number, height: number): RgbImage {
    return crop(
      img,
      Math.floor((img.width - width) / 2),
      Math.floor((img.height - height) / 2),
      width,
      height,
    );
  }

  function rescale(img: RgbImage, factor: number): RgbImage {
    const data = new Float32Array(img.data.length);
    for (let i = 0; i < data.length; i++) data[i] = img.data[i]! * factor;
    return { width: img.width, height: img.height, data };
  }

  function normalize(img: RgbImage, mean: readonly number[], std: readonly number[]): RgbImage {
    const data = new Float32Array(img.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (img.data[i]! - mean[i % 3]!) / std[i % 3]!;
    return { width: img.width, height: img.height, data };
  }

  /** HWC → planar CHW (length 3·H·W). */
  function toChw(img: RgbImage): Float32Array {
    const plane = img.width * img.height;
    const out = new Float32Array(plane * 3);
    for (let p = 0; p < plane; p++) {
      out[p] = img.data[p * 3]!;
      out[plane + p] = img.data[p * 3 + 1]!;
      out[2 * plane + p] = img.data[p * 3 + 2]!;
    }
    return out;
  }

  function resizeAndCrop(img: RgbImage, plan: PreprocessPlan): RgbImage {
    if (plan.resize) {
      const size =
        plan.resize.kind === 'shortest'
          ? shortestEdgeSize(img.width, img.height, plan.resize.edge)
          : plan.resize;
      img = resize(img, size.width, size.height, plan.resample);
    }
    if (plan.crop) img = centerCrop(img, plan.crop.width, plan.crop.height);
    return img;
  }

  /** resize → center crop → rescale → normalize, as the plan says (HWC floats out). */
  function preprocess(img: RgbImage, plan: PreprocessPlan): RgbImage {
    img = resizeAndCrop(img, plan);
    if (plan.rescale !== null) img = rescale(img, plan.rescale);
    if (plan.normalize) img = normalize(img, plan.normalize.mean, plan.normalize.std);
    return img;
  }

  /**
   * `toChw(preprocess(img, plan))` with rescale, normalize and the transpose fused into one pass.
   * Bit-identical to the three passes: the value is rounded to float32 where `rescale` stores it
   * (`Math.fround`) and again at the final store, exactly as the separate steps do.
   */
  function preprocessToChw(img: RgbImage, plan: PreprocessPlan) {
    img = resizeAndCrop(img, plan);
    const { width, height, data } = img;
    const plane = width * height;
    const chw = new Float32Array(plane * 3);
    const factor = plan.rescale;
    for (let c = 0; c < 3; c++) {
      const mean = plan.normalize ? plan.normalize.mean[c]! : 0;
      const std = plan.normalize ? plan.normalize.std[c]! : 1;
      const base = c * plane;
      for (let p = 0; p < plane; p++) {
        let v = data[p * 3 + c]!;
        if (factor !== null) v = Math.fround(v * factor);
        if (plan.normalize) v = (v - mean) / std;
        chw[base + p] = v;
      }
    }
    return { width, height, chw };
  }

  return {
    fromInterleaved,
    resize,
    shortestEdgeSize,
    crop,
    centerCrop,
    rescale,
    normalize,
    toChw,
    preprocess,
    preprocessToChw,
  };
}

/** The kernels every main-thread image function calls (the workers build their own from the text). */
export const kernels = /* @__PURE__ */ pixelKernels();
