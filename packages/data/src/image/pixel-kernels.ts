import type { Resample } from './resize.js';
import type { RgbImage } from './rgb-image.js';

/**
 * What `ImageProcessor` does to one image, resolved and validated from its Hugging Face keys:
 * plain JSON, so it can be posted to a decode worker. `null` skips a step.
 */
export interface PreprocessPlan {
  resize: ResizeRule | null;
  resample: Resample;
  /**
   * `'uint8'`: resample 8-bit pixels with PIL's fixed-point arithmetic, rounding and clipping to
   * bytes after each pass, as Hugging Face's (PIL-based) image processors do; the image must hold
   * integers in [0, 255]. `'float'`: the same filters on floats, no rounding.
   */
  resampleIn: 'uint8' | 'float';
  /** Center crop to this size (zero-padded when larger than the image). */
  crop: { width: number; height: number } | null;
  /** Multiply by this factor (usually 1/255). */
  rescale: number | null;
  /** Per-channel `(x − mean) / std`. */
  normalize: { mean: number[]; std: number[] } | null;
}

/**
 * How the output size of a resize follows from the input size:
 * - `shortest`: the shorter side becomes `edge`, the longer `int(edge·long/short)` (HF
 *   `get_resize_output_image_size(default_to_square=False)`);
 * - `exact`: `width × height`;
 * - `vilt`: ViLT's rule (HF `ViltImageProcessor`): shorter side `shorter`, longer side at most
 *   `longer`, then both rounded (`int(x + 0.5)`) and floored to a multiple of `divisor`.
 */
export type ResizeRule =
  | { kind: 'shortest'; edge: number }
  | { kind: 'exact'; width: number; height: number }
  | { kind: 'vilt'; shorter: number; longer: number; divisor: number };

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
  // PIL's hamming window uses float constants (0.54f, 0.46f) in double arithmetic.
  const HAMMING_A = Math.fround(0.54);
  const HAMMING_B = Math.fround(0.46);
  /** PIL's 8-bit fixed point: 32 − 8 − 2 fractional bits (Resample.c `PRECISION_BITS`). */
  const PRECISION = 2 ** 22;

  function sinc(x: number): number {
    if (x === 0) return 1;
    const px = x * Math.PI;
    return Math.sin(px) / px;
  }

  // PIL's filters (libImaging/Resample.c), boundaries included.
  const FILTERS: Record<Exclude<Resample, 'nearest'>, { support: number; f: (x: number) => number }> = {
    box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
    bilinear: { support: 1, f: (x) => Math.max(0, 1 - Math.abs(x)) },
    hamming: {
      support: 1,
      f: (x) => {
        x = Math.abs(x);
        if (x === 0) return 1;
        if (x >= 1) return 0;
        x *= Math.PI;
        return (Math.sin(x) / x) * (HAMMING_A + HAMMING_B * Math.cos(x));
      },
    },
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
      f: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
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

  /**
   * PIL `precompute_coeffs`, operation for operation: one weight window per output pixel; the
   * filter widens by the scale when shrinking (antialiasing).
   */
  function computeTaps(inSize: number, outSize: number, resample: Exclude<Resample, 'nearest'>) {
    const { support: baseSupport, f } = FILTERS[resample];
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    const support = baseSupport * filterScale;
    const ss = 1 / filterScale;
    const start = new Int32Array(outSize);
    const weights: Float64Array[] = [];
    for (let i = 0; i < outSize; i++) {
      const center = (i + 0.5) * scale;
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      const w = new Float64Array(Math.max(xmax, 0));
      let total = 0;
      for (let x = 0; x < xmax; x++) {
        const v = f((x + xmin - center + 0.5) * ss);
        w[x] = v;
        total += v;
      }
      if (total !== 0) for (let x = 0; x < xmax; x++) w[x]! /= total;
      start[i] = xmin;
      weights.push(w);
    }
    return { start, weights };
  }

  /**
   * PIL `normalize_coeffs_8bpc`: the weights as fixed-point integers (rounded half away from zero),
   * packed `ksize` per output pixel as PIL stores them, with each window's first input and length.
   */
  function fixedTaps(inSize: number, outSize: number, resample: Exclude<Resample, 'nearest'>) {
    const { start, weights } = computeTaps(inSize, outSize, resample);
    const ksize = Math.max(...weights.map((w) => w.length));
    const k = new Int32Array(outSize * ksize);
    const len = new Int32Array(outSize);
    weights.forEach((w, i) => {
      len[i] = w.length;
      for (let t = 0; t < w.length; t++) {
        const v = w[t]! * PRECISION;
        k[i * ksize + t] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v);
      }
    });
    return { start, len, k, ksize };
  }

  /**
   * PIL `clip8`: drop the fraction (an arithmetic shift; the sum is an exact int32, as in PIL),
   * clamp to a byte.
   */
  function clip8(acc: number): number {
    const v = acc >> 22; // log2(PRECISION)
    return Math.min(Math.max(v, 0), 255);
  }

  /**
   * PIL's nearest neighbour (`ImagingScaleAffine`): source column `int(x0)` with x0 starting at
   * `scale/2` and growing by `scale` each step — accumulated, as there, so positions match bit for bit.
   */
  function nearestIndex(inSize: number, outSize: number): Int32Array {
    const step = inSize / outSize;
    const idx = new Int32Array(outSize);
    let pos = step * 0.5;
    for (let i = 0; i < outSize; i++) {
      idx[i] = Math.min(inSize - 1, Math.trunc(pos));
      pos += step;
    }
    return idx;
  }

  function resizeNearest(img: RgbImage, width: number, height: number): RgbImage {
    const out = new Float32Array(width * height * 3);
    const xs = nearestIndex(img.width, width);
    const ys = nearestIndex(img.height, height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const src = (ys[y]! * img.width + xs[x]!) * 3;
        out.set(img.data.subarray(src, src + 3), (y * width + x) * 3);
      }
    }
    return { width, height, data: out };
  }

  /**
   * PIL's resampling of an 8-bit RGB image (`ImagingResampleInner` with the `_8bpc` passes):
   * fixed-point weights, horizontal pass first (only when the width changes), each pass rounded
   * and clipped to bytes. `img` holds bytes as floats; so does the result.
   */
  function resizeBytes(img: RgbImage, width: number, height: number, resample: Resample): RgbImage {
    if (width === img.width && height === img.height) {
      return { width, height, data: img.data.slice() };
    }
    if (resample === 'nearest') return resizeNearest(img, width, height);
    const half = PRECISION / 2;
    const v = fixedTaps(img.height, height, resample);
    const vStart = Int32Array.from(v.start);
    let src = new Uint8Array(img.data.length);
    src.set(img.data); // bytes already (checked by the public wrappers); a typed copy converts fast
    let srcWidth = img.width;
    if (width !== img.width) {
      // Only the rows the vertical pass reads, as PIL (ybox_first .. ybox_last).
      const first = vStart[0]!;
      const last = vStart[height - 1]! + v.len[height - 1]!;
      for (let y = 0; y < height; y++) vStart[y]! -= first;
      const { start: hStart, len: hLen, k: hk, ksize: hKsize } = fixedTaps(img.width, width, resample);
      const tmp = new Uint8Array(width * (last - first) * 3);
      const bytes = src;
      for (let y = first; y < last; y++) {
        const row = y * img.width;
        for (let x = 0; x < width; x++) {
          const s0 = (row + hStart[x]!) * 3;
          const kb = x * hKsize;
          const n = hLen[x]!;
          let r = half;
          let g = half;
          let b = half;
          for (let t = 0; t < n; t++) {
            const kt = hk[kb + t]!;
            const i = s0 + t * 3;
            r += bytes[i]! * kt;
            g += bytes[i + 1]! * kt;
            b += bytes[i + 2]! * kt;
          }
          const o = ((y - first) * width + x) * 3;
          tmp[o] = clip8(r);
          tmp[o + 1] = clip8(g);
          tmp[o + 2] = clip8(b);
        }
      }
      src = tmp;
      srcWidth = width;
    }
    const out = new Float32Array(width * height * 3);
    if (height === img.height) {
      out.set(src);
      return { width, height, data: out };
    }
    const stride = srcWidth * 3;
    const { len: vLen, k: vk, ksize: vKsize } = v;
    const rows = src;
    for (let y = 0; y < height; y++) {
      const kb = y * vKsize;
      const n = vLen[y]!;
      const s0 = vStart[y]! * stride;
      for (let x = 0; x < width * 3; x += 3) {
        let r = half;
        let g = half;
        let b = half;
        for (let t = 0; t < n; t++) {
          const kt = vk[kb + t]!;
          const i = s0 + t * stride + x;
          r += rows[i]! * kt;
          g += rows[i + 1]! * kt;
          b += rows[i + 2]! * kt;
        }
        const o = y * width * 3 + x;
        out[o] = clip8(r);
        out[o + 1] = clip8(g);
        out[o + 2] = clip8(b);
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

  /** HF `ViltImageProcessor`'s output size (its `get_resize_output_image_size`). */
  function viltSize(width: number, height: number, shorter: number, longer: number, divisor: number) {
    let scale = shorter / Math.min(height, width);
    let [h, w] = height < width ? [shorter, scale * width] : [scale * height, shorter];
    if (Math.max(h, w) > longer) {
      scale = longer / Math.max(h, w);
      h *= scale;
      w *= scale;
    }
    h = Math.trunc(h + 0.5);
    w = Math.trunc(w + 0.5);
    return { width: Math.floor(w / divisor) * divisor, height: Math.floor(h / divisor) * divisor };
  }

  /** The size `rule` resizes a `width × height` image to. */
  function resizeTarget(width: number, height: number, rule: ResizeRule) {
    if (rule.kind === 'shortest') return shortestEdgeSize(width, height, rule.edge);
    if (rule.kind === 'vilt') return viltSize(width, height, rule.shorter, rule.longer, rule.divisor);
    return { width: rule.width, height: rule.height };
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

  /** Per channel `(x − mean) / std` in float32 arithmetic (numpy's and torch's on float32 images). */
  function normalize(img: RgbImage, mean: readonly number[], std: readonly number[]): RgbImage {
    const data = new Float32Array(img.data.length);
    const m = mean.map(Math.fround);
    const s = std.map(Math.fround);
    for (let i = 0; i < data.length; i++) data[i] = Math.fround(img.data[i]! - m[i % 3]!) / s[i % 3]!;
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
      const size = resizeTarget(img.width, img.height, plan.resize);
      img =
        plan.resampleIn === 'uint8'
          ? resizeBytes(img, size.width, size.height, plan.resample)
          : resize(img, size.width, size.height, plan.resample);
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
   * (`Math.fround`), after the subtraction and at the final store, exactly as the separate steps do.
   */
  function preprocessToChw(img: RgbImage, plan: PreprocessPlan) {
    img = resizeAndCrop(img, plan);
    const { width, height, data } = img;
    const plane = width * height;
    const chw = new Float32Array(plane * 3);
    const factor = plan.rescale;
    for (let c = 0; c < 3; c++) {
      const mean = plan.normalize ? Math.fround(plan.normalize.mean[c]!) : 0;
      const std = plan.normalize ? Math.fround(plan.normalize.std[c]!) : 1;
      const base = c * plane;
      for (let p = 0; p < plane; p++) {
        let v = data[p * 3 + c]!;
        if (factor !== null) v = Math.fround(v * factor);
        if (plan.normalize) v = Math.fround(v - mean) / std;
        chw[base + p] = v;
      }
    }
    return { width, height, chw };
  }

  return {
    fromInterleaved,
    resize,
    resizeBytes,
    shortestEdgeSize,
    resizeTarget,
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
