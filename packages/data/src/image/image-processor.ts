import { ArgumentError, checkPositiveInt, type Tensor, tensor } from '@polymodal/tensor';
import {
  GENERIC_PROCESSOR,
  HF_IMAGE_PROCESSORS,
  type HfProcessorDefaults,
  hfProcessorType,
} from './hf-image-processors.js';
import { kernels, type PreprocessPlan, type ResizeRule } from './pixel-kernels.js';
import { assertBytes, PIL_RESAMPLE, type Resample } from './resize.js';
import { assertImage, type RgbImage } from './rgb-image.js';
import { type ChwImage, imagesToTensor } from './transforms.js';

export type { PreprocessPlan, ResizeRule } from './pixel-kernels.js';

type SizeSpec = number | { shortest_edge?: number; height?: number; width?: number };

/** The keys of a Hugging Face `preprocessor_config.json` that `ImageProcessor` understands. */
export interface PreprocessorConfig {
  /** The HF class (`CLIPImageProcessor`, `ViTImageProcessor`, …): picks the defaults of missing keys. */
  image_processor_type?: string;
  /** The older name of the class (`CLIPFeatureExtractor`, …), read when `image_processor_type` is absent. */
  feature_extractor_type?: string;
  do_resize?: boolean;
  size?: SizeSpec;
  resample?: number;
  do_center_crop?: boolean;
  crop_size?: SizeSpec;
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number[];
  image_std?: number[];
  /**
   * How a bare-number `size` is read: `{height: n, width: n}` (true) or `{shortest_edge: n}`
   * (false). Default: the processor type's (false for CLIP, SigLIP and ViLT; true for ViT, BLIP and
   * configs of no known type).
   */
  default_to_square?: boolean;
  /** ViLT: output sides are floored to a multiple of this. Default 32. */
  size_divisor?: number;
  /** ViLT: pad a batch to its largest image and return `pixelMask`. Default true. */
  do_pad?: boolean;
  /** CLIP (Kosmos-2 configs): resize to a `shortest_edge` square instead. */
  use_square_size?: boolean;
  [other: string]: unknown;
}

export interface ImageProcessorOptions {
  /**
   * The processor type whose defaults apply, overriding the config's `image_processor_type`: a key
   * of `HF_IMAGE_PROCESSORS` (`'CLIPImageProcessor'`, …) or `'generic'`.
   */
  processorType?: string;
  /**
   * `'uint8'` (default): resample 8-bit pixels exactly as PIL does inside Hugging Face's
   * processors (images must hold integers in [0, 255], as decoded images do). `'float'`: resample
   * floats (any values; differs from HF by up to about one intensity step per pass).
   */
  resampleIn?: 'uint8' | 'float';
}

function resolveSize(key: string, spec: SizeSpec, defaultToSquare: boolean): ResizeRule {
  const positive = (n: number) => {
    if (!Number.isInteger(n) || n < 1)
      throw new ArgumentError(
        'ImageProcessor',
        `${key} must hold positive integers, got ${JSON.stringify(spec)}`,
      );
    return n;
  };
  if (typeof spec === 'number') {
    positive(spec);
    return defaultToSquare ? { kind: 'exact', width: spec, height: spec } : { kind: 'shortest', edge: spec };
  }
  if (spec.shortest_edge !== undefined) return { kind: 'shortest', edge: positive(spec.shortest_edge) };
  if (spec.height !== undefined && spec.width !== undefined)
    return { kind: 'exact', width: positive(spec.width), height: positive(spec.height) };
  throw new ArgumentError(
    'ImageProcessor',
    `${key} needs shortest_edge or height+width, got ${JSON.stringify(spec)}`,
  );
}

/** ViLT's longest side for a given shortest side (HF: `int(1333 / 800 * shorter)`). */
const viltLonger = (shorter: number) => Math.trunc((1333 / 800) * shorter);

/**
 * A Hugging Face image processor: resize → center crop → rescale → normalize → [N, 3, H, W],
 * configured from a `preprocessor_config.json`, with the semantics of the PIL-based HF class the
 * config names (`image_processor_type` / `feature_extractor_type`; see `HF_IMAGE_PROCESSORS`):
 * that class's defaults for missing keys and its reading of a bare-number `size` — CLIP's
 * `"size": 224` is a shortest edge of 224 followed by the 224×224 centre crop, ViT's and BLIP's a
 * 224×224 square; ViLT resizes by its own rule and pads the batch (`pixelMask`). Resampling runs on
 * 8-bit pixels with PIL's arithmetic, so outputs equal `CLIPImageProcessor(...)(image)`'s; checked
 * against an independent PIL + numpy run of HF's steps (`scripts/make-hf-processor-fixtures.py`).
 * A config that names no known type is read key by key (generic; bare-number `size` square).
 *
 * ```ts
 * const proc = ImageProcessor.fromConfig(readFileSync('clip/preprocessor_config.json', 'utf8'));
 * proc.processorType; // 'CLIPImageProcessor' (from "feature_extractor_type": "CLIPFeatureExtractor")
 * const { pixelValues } = proc.call([img1, img2]); // [2, 3, 224, 224]
 * ```
 */
export class ImageProcessor {
  /** The HF class whose defaults apply (`'CLIPImageProcessor'`, …), or `'generic'`. */
  readonly processorType: string;
  readonly doResize: boolean;
  readonly size: ResizeRule | null;
  readonly resample: Resample;
  /** Whether resampling runs on 8-bit pixels (as HF/PIL) or floats. */
  readonly resampleIn: 'uint8' | 'float';
  readonly doCenterCrop: boolean;
  readonly cropSize: { width: number; height: number } | null;
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly number[];
  readonly imageStd: readonly number[];
  /** ViLT: pad each batch to its largest image and return `pixelMask` from `call`. */
  readonly doPad: boolean;
  /**
   * The steps above, validated, as plain JSON: what `ImageDecodePool.preprocess` posts to its
   * workers (once per processor), so the worker never re-reads or re-validates a config.
   */
  readonly plan: PreprocessPlan;

  constructor(config: PreprocessorConfig = {}, options: ImageProcessorOptions = {}) {
    const type = options.processorType ?? hfProcessorType(config) ?? 'generic';
    const d: HfProcessorDefaults | undefined =
      type === 'generic' ? GENERIC_PROCESSOR : HF_IMAGE_PROCESSORS[type];
    if (!d) {
      throw new ArgumentError(
        'ImageProcessor',
        `processorType '${type}' is not one of ${['generic', ...Object.keys(HF_IMAGE_PROCESSORS)].join(', ')}`,
      );
    }
    this.processorType = d.name;
    const resampleIn = options.resampleIn ?? 'uint8';
    if (resampleIn !== 'uint8' && resampleIn !== 'float')
      throw new ArgumentError(
        'ImageProcessor',
        `resampleIn must be 'uint8' or 'float', got '${String(resampleIn)}'`,
      );
    this.resampleIn = resampleIn;
    const square = config.default_to_square ?? d.defaultToSquare;
    this.doResize = config.do_resize ?? d.doResize;
    const sizeSpec = config.size ?? d.size;
    let size = sizeSpec === null ? null : resolveSize('size', sizeSpec, square);
    if (size?.kind === 'shortest' && config.use_square_size === true && d.name === 'CLIPImageProcessor')
      size = { kind: 'exact', width: size.edge, height: size.edge };
    if (d.vilt && size) {
      if (size.kind !== 'shortest')
        throw new ArgumentError(
          'ImageProcessor',
          `ViltImageProcessor needs size.shortest_edge, got ${JSON.stringify(sizeSpec)}`,
        );
      const divisor = config.size_divisor ?? d.vilt.sizeDivisor;
      checkPositiveInt('ImageProcessor', 'size_divisor', divisor);
      size = { kind: 'vilt', shorter: size.edge, longer: viltLonger(size.edge), divisor };
    }
    this.size = size;
    if (this.doResize && !this.size)
      throw new ArgumentError('ImageProcessor', 'do_resize is set but size is missing');
    const code = config.resample ?? d.resample;
    const resample = PIL_RESAMPLE[code];
    if (!resample)
      throw new ArgumentError('ImageProcessor', `resample ${code} is not one of 0 (nearest), 1, 2, 3, 4, 5`);
    this.resample = resample;
    this.doCenterCrop = config.do_center_crop ?? d.doCenterCrop;
    const cropSpec = config.crop_size ?? d.cropSize;
    const crop = cropSpec === null ? null : resolveSize('crop_size', cropSpec, true);
    if (crop && crop.kind !== 'exact')
      throw new ArgumentError('ImageProcessor', 'crop_size must be height+width or a number');
    this.cropSize = crop && crop.kind === 'exact' ? { width: crop.width, height: crop.height } : null;
    if (this.doCenterCrop && !this.cropSize)
      throw new ArgumentError('ImageProcessor', 'do_center_crop is set but crop_size is missing');
    this.doRescale = config.do_rescale ?? d.doRescale;
    this.rescaleFactor = config.rescale_factor ?? d.rescaleFactor;
    this.doNormalize = config.do_normalize ?? d.doNormalize;
    this.imageMean = config.image_mean ?? [...d.imageMean];
    this.imageStd = config.image_std ?? [...d.imageStd];
    this.doPad = d.vilt ? (config.do_pad ?? d.vilt.doPad) : false;
    if (this.doNormalize) {
      if (this.imageMean.length !== 3 || this.imageStd.length !== 3)
        throw new ArgumentError(
          'ImageProcessor',
          `image_mean and image_std need 3 values, got ${this.imageMean.length} and ${this.imageStd.length}`,
        );
      if (this.imageStd.some((v) => !(v > 0)))
        throw new ArgumentError(
          'ImageProcessor',
          `image_std must be positive, got [${this.imageStd.join(', ')}]`,
        );
    }
    this.plan = {
      resize: this.doResize ? this.size : null,
      resample: this.resample,
      resampleIn: this.resampleIn,
      crop: this.doCenterCrop ? this.cropSize : null,
      rescale: this.doRescale ? this.rescaleFactor : null,
      normalize: this.doNormalize ? { mean: [...this.imageMean], std: [...this.imageStd] } : null,
    };
  }

  /**
   * Builds from a parsed or raw `preprocessor_config.json`; text that is not JSON, or JSON that is
   * not an object, is an ArgumentError.
   *
   * ```ts
   * ImageProcessor.fromConfig('{"feature_extractor_type": "CLIPFeatureExtractor", "size": 224, "crop_size": 224}');
   * ```
   */
  static fromConfig(
    config: PreprocessorConfig | string,
    options: ImageProcessorOptions = {},
  ): ImageProcessor {
    let parsed: unknown = config;
    if (typeof config === 'string') {
      try {
        parsed = JSON.parse(config);
      } catch (e) {
        throw new ArgumentError('ImageProcessor.fromConfig', `not valid JSON (${(e as Error).message})`);
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new ArgumentError(
        'ImageProcessor.fromConfig',
        `expected preprocessor_config.json text or its object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`,
      );
    return new ImageProcessor(parsed as PreprocessorConfig, options);
  }

  /** Input checks shared by `preprocess` and `preprocessToChw`. */
  private check(op: string, img: RgbImage): void {
    assertImage(op, img);
    if (!this.plan.resize) return;
    const { width, height } = kernels.resizeTarget(img.width, img.height, this.plan.resize);
    if (width < 1 || height < 1)
      throw new ArgumentError(
        op,
        `a ${img.width}×${img.height} image resizes to ${width}×${height} under this config`,
      );
    if (this.plan.resampleIn === 'uint8') assertBytes(op, img);
  }

  /**
   * Applies the configured steps to one image, returning HWC floats. Runs `pixelKernels`, the
   * code the `ImageDecodePool` workers run, so both give bit-identical pixels.
   */
  preprocess(img: RgbImage): RgbImage {
    this.check('ImageProcessor.preprocess', img);
    return kernels.preprocess(img, this.plan);
  }

  /**
   * `preprocess`, then channel-first (`toChwImage(proc.preprocess(img))`, bit for bit, in one pass
   * over the pixels): what `ImageDecodePool.preprocess` computes in a worker.
   *
   * ```ts
   * const { chw, width, height } = proc.preprocessToChw(img); // chw.length === 3 * height * width
   * ```
   */
  preprocessToChw(img: RgbImage): ChwImage {
    this.check('ImageProcessor.preprocessToChw', img);
    return kernels.preprocessToChw(img, this.plan);
  }

  /**
   * Processes one or many images into `pixelValues` [N, 3, H, W] (float32). With `doPad` (ViLT)
   * images may differ in size: each is zero-padded at the bottom and right to the largest, and
   * `pixelMask` [N, H, W] (int32, 1 = image pixel, 0 = padding) says where, as HF's `pixel_mask`.
   *
   * ```ts
   * const { pixelValues, pixelMask } = vilt.call([wide, tall]); // [2, 3, H, W], [2, H, W]
   * ```
   */
  call(images: RgbImage | readonly RgbImage[]): { pixelValues: Tensor; pixelMask?: Tensor } {
    const list = Array.isArray(images) ? (images as readonly RgbImage[]) : [images as RgbImage];
    if (!this.doPad) return { pixelValues: imagesToTensor(list.map((im) => this.preprocess(im))) };
    return padBatch(list.map((im) => this.preprocessToChw(im)));
  }
}

/** HF ViLT's batch padding: zeros at the bottom and right up to the largest image, plus the mask. */
function padBatch(images: readonly ChwImage[]): { pixelValues: Tensor; pixelMask: Tensor } {
  const height = Math.max(...images.map((im) => im.height));
  const width = Math.max(...images.map((im) => im.width));
  const plane = height * width;
  const values = new Float32Array(images.length * 3 * plane);
  const mask = new Int32Array(images.length * plane);
  images.forEach((im, n) => {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < im.height; y++) {
        const src = (c * im.height + y) * im.width;
        values.set(im.chw.subarray(src, src + im.width), ((n * 3 + c) * height + y) * width);
      }
    }
    for (let y = 0; y < im.height; y++) mask.fill(1, n * plane + y * width, n * plane + y * width + im.width);
  });
  return {
    pixelValues: tensor(values, { shape: [images.length, 3, height, width], dtype: 'float32' }),
    pixelMask: tensor(mask, { shape: [images.length, height, width], dtype: 'int32' }),
  };
}
