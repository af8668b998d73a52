import { CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD } from './transforms.js';

type SizeSpec = number | { shortest_edge?: number; height?: number; width?: number };

/**
 * The defaults of one Hugging Face image-processor class: what a `preprocessor_config.json` of
 * that type means when it leaves a key out, and how it reads a bare-number `size`.
 */
export interface HfProcessorDefaults {
  /** The class name (`image_processor_type`). */
  name: string;
  doResize: boolean;
  size: SizeSpec | null;
  /** How a bare-number `size` is read: `{height: n, width: n}` (true) or `{shortest_edge: n}`. */
  defaultToSquare: boolean;
  /** PIL code: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming. */
  resample: number;
  doCenterCrop: boolean;
  cropSize: SizeSpec | null;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: readonly number[];
  imageStd: readonly number[];
  /** ViLT: resize by its own rule and pad the batch to the largest image. */
  vilt?: { sizeDivisor: number; doPad: boolean };
}

const HALF = [0.5, 0.5, 0.5] as const;

const common = {
  doResize: true,
  doRescale: true,
  rescaleFactor: 1 / 255,
  doNormalize: true,
  doCenterCrop: false,
  cropSize: null,
};

/**
 * The PIL-based ("slow") Hugging Face image processors Polymodal follows, with their `__init__`
 * defaults (transformers `models/<name>/image_processing_<name>.py`; the same values as the
 * class attributes of the `*ImageProcessorPil` classes of transformers 5):
 *
 * | type | size | int `size` means | resample | crop | mean / std |
 * |---|---|---|---|---|---|
 * | `CLIPImageProcessor` | shortest_edge 224 | shortest edge | bicubic | 224×224 | OpenAI CLIP |
 * | `ViTImageProcessor` | 224×224 | square | bilinear | — | 0.5 |
 * | `BlipImageProcessor` | 384×384 | square | bicubic | — | OpenAI CLIP |
 * | `SiglipImageProcessor` | 224×224 | shortest edge | bicubic | — | 0.5 |
 * | `ViltImageProcessor` | shortest_edge 384 (long ≤ 1333/800·384, multiples of 32) | shortest edge | bicubic | — (pads the batch) | 0.5 |
 *
 * The torchvision-based `…ImageProcessorFast` classes take the same configs but resample tensors
 * with torchvision (not PIL), so their pixels differ slightly; Polymodal follows the PIL ones.
 */
export const HF_IMAGE_PROCESSORS: Readonly<Record<string, HfProcessorDefaults>> = {
  CLIPImageProcessor: {
    ...common,
    name: 'CLIPImageProcessor',
    size: { shortest_edge: 224 },
    defaultToSquare: false,
    resample: 3,
    doCenterCrop: true,
    cropSize: { height: 224, width: 224 },
    imageMean: CLIP_MEAN,
    imageStd: CLIP_STD,
  },
  ViTImageProcessor: {
    ...common,
    name: 'ViTImageProcessor',
    size: { height: 224, width: 224 },
    defaultToSquare: true,
    resample: 2,
    imageMean: HALF,
    imageStd: HALF,
  },
  BlipImageProcessor: {
    ...common,
    name: 'BlipImageProcessor',
    size: { height: 384, width: 384 },
    defaultToSquare: true,
    resample: 3,
    imageMean: CLIP_MEAN,
    imageStd: CLIP_STD,
  },
  SiglipImageProcessor: {
    ...common,
    name: 'SiglipImageProcessor',
    size: { height: 224, width: 224 },
    defaultToSquare: false,
    resample: 3,
    imageMean: HALF,
    imageStd: HALF,
  },
  ViltImageProcessor: {
    ...common,
    name: 'ViltImageProcessor',
    size: { shortest_edge: 384 },
    defaultToSquare: false,
    resample: 3,
    imageMean: HALF,
    imageStd: HALF,
    vilt: { sizeDivisor: 32, doPad: true },
  },
};

/**
 * What a config of no known type gets (Polymodal's generic reading, unchanged since 0.1): every
 * step from its keys, `size` required when resizing, a bare-number `size` square (HF's
 * `get_size_dict` default), bilinear, ImageNet mean/std.
 */
export const GENERIC_PROCESSOR: HfProcessorDefaults = {
  ...common,
  name: 'generic',
  size: null,
  defaultToSquare: true,
  resample: 2,
  imageMean: IMAGENET_MEAN,
  imageStd: IMAGENET_STD,
};

/**
 * The processor type a config names (`image_processor_type`, or the older
 * `feature_extractor_type`), as a key of {@link HF_IMAGE_PROCESSORS}: `CLIPFeatureExtractor`,
 * `CLIPImageProcessorFast` and `CLIPImageProcessorPil` all mean `CLIPImageProcessor`. `null` when the
 * config names none or one Polymodal does not know.
 *
 * ```ts
 * hfProcessorType({ feature_extractor_type: 'CLIPFeatureExtractor' }); // 'CLIPImageProcessor'
 * ```
 */
export function hfProcessorType(config: {
  image_processor_type?: unknown;
  feature_extractor_type?: unknown;
}): string | null {
  const raw = config.image_processor_type ?? config.feature_extractor_type;
  if (typeof raw !== 'string') return null;
  const name = raw.replace(/FeatureExtractor$/, 'ImageProcessor').replace(/(Fast|Pil)$/, '');
  return name in HF_IMAGE_PROCESSORS ? name : null;
}
