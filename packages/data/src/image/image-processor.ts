import { ArgumentError, type Tensor } from '@polymodal/tensor';
import { kernels, type PreprocessPlan } from './pixel-kernels.js';
import { PIL_RESAMPLE, type Resample } from './resize.js';
import { assertImage, type RgbImage } from './rgb-image.js';
import { type ChwImage, IMAGENET_MEAN, IMAGENET_STD, imagesToTensor } from './transforms.js';

export type { PreprocessPlan } from './pixel-kernels.js';

type SizeSpec = number | { shortest_edge?: number; height?: number; width?: number };

/** The keys of a Hugging Face `preprocessor_config.json` that `ImageProcessor` understands. */
export interface PreprocessorConfig {
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
  /** How a bare-number `size` is read: square (default, as HF) or shortest edge (old CLIP configs). */
  default_to_square?: boolean;
  [other: string]: unknown;
}

type ResolvedSize = { kind: 'shortest'; edge: number } | { kind: 'exact'; width: number; height: number };

function resolveSize(key: string, spec: SizeSpec, defaultToSquare: boolean): ResolvedSize {
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

/**
 * A Hugging Face–style image processor: resize → center crop → rescale → normalize → [N, 3, H, W],
 * configured from `preprocessor_config.json` (ViT, CLIP, BLIP, … layouts).
 *
 * ```ts
 * const proc = ImageProcessor.fromConfig(JSON.parse(readFileSync('preprocessor_config.json', 'utf8')));
 * const { pixelValues } = proc.call([img1, img2]); // [2, 3, 224, 224]
 * ```
 */
export class ImageProcessor {
  readonly doResize: boolean;
  readonly size: ResolvedSize | null;
  readonly resample: Resample;
  readonly doCenterCrop: boolean;
  readonly cropSize: { width: number; height: number } | null;
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly number[];
  readonly imageStd: readonly number[];
  /**
   * The steps above, validated, as plain JSON: what `ImageDecodePool.preprocess` posts to its
   * workers (once per processor), so the worker never re-reads or re-validates a config.
   */
  readonly plan: PreprocessPlan;

  constructor(config: PreprocessorConfig = {}) {
    const square = config.default_to_square ?? true;
    this.doResize = config.do_resize ?? true;
    this.size = config.size === undefined ? null : resolveSize('size', config.size, square);
    if (this.doResize && !this.size)
      throw new ArgumentError('ImageProcessor', 'do_resize is set but size is missing');
    const code = config.resample ?? 2;
    const resample = PIL_RESAMPLE[code];
    if (!resample)
      throw new ArgumentError('ImageProcessor', `resample ${code} is not one of 0 (nearest), 1, 2, 3, 4`);
    this.resample = resample;
    this.doCenterCrop = config.do_center_crop ?? false;
    const crop = config.crop_size === undefined ? null : resolveSize('crop_size', config.crop_size, true);
    if (crop && crop.kind !== 'exact')
      throw new ArgumentError('ImageProcessor', 'crop_size must be height+width or a number');
    this.cropSize = crop && crop.kind === 'exact' ? { width: crop.width, height: crop.height } : null;
    if (this.doCenterCrop && !this.cropSize)
      throw new ArgumentError('ImageProcessor', 'do_center_crop is set but crop_size is missing');
    this.doRescale = config.do_rescale ?? true;
    this.rescaleFactor = config.rescale_factor ?? 1 / 255;
    this.doNormalize = config.do_normalize ?? true;
    this.imageMean = config.image_mean ?? [...IMAGENET_MEAN];
    this.imageStd = config.image_std ?? [...IMAGENET_STD];
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
      crop: this.doCenterCrop ? this.cropSize : null,
      rescale: this.doRescale ? this.rescaleFactor : null,
      normalize: this.doNormalize ? { mean: [...this.imageMean], std: [...this.imageStd] } : null,
    };
  }

  /** Builds from a parsed or raw `preprocessor_config.json`. */
  static fromConfig(config: PreprocessorConfig | string): ImageProcessor {
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
    return new ImageProcessor(parsed as PreprocessorConfig);
  }

  /**
   * Applies the configured steps to one image, returning HWC floats. Runs `pixelKernels`, the
   * code the `ImageDecodePool` workers run, so both give bit-identical pixels.
   */
  preprocess(img: RgbImage): RgbImage {
    assertImage('ImageProcessor.preprocess', img);
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
    assertImage('ImageProcessor.preprocessToChw', img);
    return kernels.preprocessToChw(img, this.plan);
  }

  /** Processes one or many images into `pixelValues` [N, 3, H, W] (float32). */
  call(images: RgbImage | readonly RgbImage[]): { pixelValues: Tensor } {
    const list = Array.isArray(images) ? (images as readonly RgbImage[]) : [images as RgbImage];
    return { pixelValues: imagesToTensor(list.map((im) => this.preprocess(im))) };
  }
}
