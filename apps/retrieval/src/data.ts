import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildWordVocab,
  decodeImageFile,
  generateDataset,
  ImageProcessor,
  imagesToTensor,
  type RgbImage,
  readCocoCaptions,
  WordPieceTokenizer,
} from '@polymodal/data';
import { type Tensor, tensor } from '@polymodal/tensor';
import type { RetrievalConfig } from './config.js';

/** One image with its captions' token ids. */
export interface RetrievalImage {
  imageId: number;
  image: RgbImage;
  captions: string[];
  captionIds: number[][];
}

/** A training pair: an image and one of its captions. */
export interface RetrievalPair {
  image: RgbImage;
  imageId: number;
  inputIds: number[];
}

export interface RetrievalBatch {
  pixelValues: Tensor;
  inputIds: Tensor;
  textMask: Tensor;
  /** Which rows share an image (two captions of one image are not negatives of each other). */
  imageIds: number[];
}

export interface PreparedRetrievalData {
  train: RetrievalImage[];
  val: RetrievalImage[];
  tokenizer: WordPieceTokenizer;
}

/**
 * Generates scenes with captions (once), reads them back with the COCO captions reader, builds a
 * word-level vocabulary from the training captions and preprocesses every image once.
 */
export async function prepareRetrievalData(
  config: RetrievalConfig,
  log: (line: string) => void,
): Promise<PreparedRetrievalData> {
  const parts = { train: config.trainImages, val: config.valImages } as const;
  const roots = Object.fromEntries(
    (['train', 'val'] as const).map((p) => [
      p,
      join(config.dataDir, `${p}-${parts[p]}-${config.imageSize}px-${config.objects}obj-seed${config.seed}`),
    ]),
  ) as Record<'train' | 'val', string>;
  for (const part of ['train', 'val'] as const) {
    if (!existsSync(join(roots[part], 'annotations', `captions_${part}2014.json`))) {
      log(`generating ${parts[part]} ${part} scenes with captions into ${roots[part]}`);
      await generateDataset({
        images: parts[part],
        seed: config.seed * 104729 + (part === 'train' ? 0 : 1),
        out: roots[part],
        split: `${part}2014`,
        size: config.imageSize,
        objects: config.objects,
        captionsPerImage: config.captionsPerImage,
        questionsPerImage: 1,
      });
    }
  }
  const read = async (part: 'train' | 'val') =>
    readCocoCaptions({
      annotationsFile: join(roots[part], 'annotations', `captions_${part}2014.json`),
      imageDir: join(roots[part], `${part}2014`),
    });
  const [trainSamples, valSamples] = [await read('train'), await read('val')];
  const tokenizer = new WordPieceTokenizer(buildWordVocab(trainSamples.samples.flatMap((s) => s.captions)));
  const processor = new ImageProcessor({
    do_resize: false,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
  });
  const toImages = async (samples: typeof trainSamples.samples): Promise<RetrievalImage[]> => {
    const out: RetrievalImage[] = [];
    for (const s of samples) {
      out.push({
        imageId: s.imageId,
        image: processor.preprocess(await decodeImageFile(s.imagePath)),
        captions: s.captions,
        captionIds: s.captions.map((c) => tokenizer.encode(c).inputIds),
      });
    }
    return out;
  };
  const train = await toImages(trainSamples.samples);
  const val = await toImages(valSamples.samples);
  log(
    `data: ${train.length} train / ${val.length} val images, ${val.reduce((n, v) => n + v.captions.length, 0)} val captions, ${tokenizer.vocabSize} tokens`,
  );
  return { train, val, tokenizer };
}

/** Every (image, caption) pair of the training images. */
export function trainingPairs(images: readonly RetrievalImage[]): RetrievalPair[] {
  return images.flatMap((im) =>
    im.captionIds.map((inputIds) => ({ image: im.image, imageId: im.imageId, inputIds })),
  );
}

/** Right-pads token ids into int32 [B, L] with a bool mask (true = real token). */
export function padTokens(rows: readonly number[][], padId: number): { inputIds: Tensor; textMask: Tensor } {
  const length = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * length).fill(padId);
  const mask = new Uint8Array(rows.length * length);
  rows.forEach((r, i) => {
    ids.set(r, i * length);
    mask.fill(1, i * length, i * length + r.length);
  });
  return {
    inputIds: tensor(ids, { shape: [rows.length, length] }),
    textMask: tensor(mask, { shape: [rows.length, length], dtype: 'bool' }),
  };
}

export function collatePairs(pairs: RetrievalPair[], padId: number): RetrievalBatch {
  return {
    pixelValues: imagesToTensor(pairs.map((p) => p.image)),
    ...padTokens(
      pairs.map((p) => p.inputIds),
      padId,
    ),
    imageIds: pairs.map((p) => p.imageId),
  };
}
