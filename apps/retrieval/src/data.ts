import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildWordVocab,
  collate,
  decodeImageFile,
  generateRetrievalDataset,
  type ImageProcessor,
  type PreprocessorConfig,
  type RetrievalGroupRecord,
  type RgbImage,
  readCocoCaptions,
  type Scene,
  WordPieceTokenizer,
} from '@polymodal/data';
import type { Tensor } from '@polymodal/tensor';
import type { TrainConfig } from './config.js';
import type { SceneBatch } from './scene-batch.js';

/** One caption of an image, tokenized. */
export interface RetrievalCaption {
  id: number;
  text: string;
  inputIds: number[];
  /** Image ids the caption holds for (its own, and any other it is true of); null when unknown. */
  holdsFor: ReadonlySet<number> | null;
}

/** One image with its captions. */
export interface RetrievalImage {
  imageId: number;
  path: string;
  pixels: RgbImage;
  /** Group of the generated set (original + distractors); each image is its own group elsewhere. */
  group: number;
  /** `original`, `subject`, `object` or `relation` in generated sets; `image` elsewhere. */
  kind: string;
  captions: RetrievalCaption[];
  /** The generator's scene annotation (objects, sizes, colours, places); null when the data has none. */
  scene: Scene | null;
}

/** A training batch: whole groups, every caption of their images. */
export interface RetrievalBatch {
  /** Unique images `[I, 3, H, W]`. */
  pixelValues: Tensor;
  /** Every caption of those images `[T, L]` int32 and its mask `[T, L]` bool (true = real). */
  inputIds: Tensor;
  textMask: Tensor;
  /** For caption t, the row of its image in `pixelValues`. */
  captionImage: number[];
  /** `holds[t][i]`: caption t is true of image i (its own image, or another by chance). */
  holds: boolean[][];
  /**
   * Recipe with scene annotations (`collateScenes`): captions after the first
   * `captionImage.length` rows of `inputIds` are generated false captions; null otherwise.
   */
  scenes?: SceneBatch | null;
}

/** The preprocessing every image goes through (saved as the bundle's `preprocessor_config.json`). */
export function preprocessorConfig(imageSize: number): PreprocessorConfig {
  return {
    image_processor_type: 'ImageProcessor',
    do_resize: true,
    size: { height: imageSize, width: imageSize },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
  };
}

/** The folders of the generated training and test sets for a config. */
export function datasetRoots(
  c: Pick<TrainConfig, 'dataDir' | 'trainImages' | 'testImages' | 'imageSize' | 'seed'>,
) {
  return {
    train: join(c.dataDir, `train-${c.trainImages}-${c.imageSize}px-seed${c.seed}`),
    test: join(c.dataDir, `test-${c.testImages}-${c.imageSize}px-seed${c.seed}`),
  };
}

/** Generates a split once (kept when its captions file is already there). */
export async function ensureGenerated(
  root: string,
  split: 'train' | 'test',
  images: number,
  seed: number,
  imageSize: number,
  log: (line: string) => void,
): Promise<void> {
  if (existsSync(join(root, 'annotations', `captions_${split}2014.json`))) return;
  log(`generating ${images} ${split} images (groups of an original and 3 distractors) into ${root}`);
  await generateRetrievalDataset({
    images,
    seed: seed * 104729 + (split === 'train' ? 0 : 1),
    out: root,
    split: `${split}2014`,
    size: imageSize,
  });
}

/**
 * Reads a generated (or any COCO captions) split: images decoded and preprocessed, captions
 * tokenized; with `retrieval_groups_<split>.json` beside it, groups, kinds and which images each
 * caption holds for.
 */
export async function readSplit(
  root: string,
  split: string,
  tokenizer: WordPieceTokenizer | null,
  processor: ImageProcessor,
): Promise<{ images: RetrievalImage[]; texts: string[] }> {
  const { samples } = await readCocoCaptions({
    annotationsFile: join(root, 'annotations', `captions_${split}.json`),
    imageDir: join(root, split),
  });
  const groupsFile = join(root, `retrieval_groups_${split}.json`);
  const info = new Map<
    number,
    { group: number; kind: string; holds: Map<number, Set<number>>; scene: Scene | null }
  >();
  if (existsSync(groupsFile)) {
    const { groups } = JSON.parse(readFileSync(groupsFile, 'utf8')) as { groups: RetrievalGroupRecord[] };
    for (const g of groups) {
      for (const im of g.images) {
        info.set(im.image_id, {
          group: g.group_id,
          kind: im.kind,
          holds: new Map(im.captions.map((c) => [c.id, new Set(c.holds_for)])),
          scene: im.scene ?? null,
        });
      }
    }
  }
  const images: RetrievalImage[] = [];
  for (const s of samples) {
    const meta = info.get(s.imageId);
    images.push({
      imageId: s.imageId,
      path: s.imagePath,
      pixels: processor.preprocess(await decodeImageFile(s.imagePath)),
      group: meta?.group ?? -s.imageId,
      kind: meta?.kind ?? 'image',
      captions: s.captions.map((text, k) => ({
        id: s.captionIds[k]!,
        text,
        inputIds: tokenizer ? tokenizer.encode(text).inputIds : [],
        holdsFor: meta?.holds.get(s.captionIds[k]!) ?? null,
      })),
      scene: meta?.scene ?? null,
    });
  }
  return { images, texts: samples.flatMap((s) => s.captions) };
}

/** Word-level vocabulary from training captions (a WordPiece vocab of whole words). */
export function buildTokenizer(captions: readonly string[]): WordPieceTokenizer {
  return new WordPieceTokenizer(buildWordVocab(captions));
}

/** Whether caption `c` (of image `own`) is true of image `imageId`. */
export function captionHolds(c: RetrievalCaption, own: number, imageId: number): boolean {
  return imageId === own || (c.holdsFor?.has(imageId) ?? false);
}

/** Token ids → int32 `[N, L]` (right-padded) and bool mask `[N, L]` (true = real), via `collate`. */
export function tokenTensors(
  rows: readonly number[][],
  padId: number,
): { inputIds: Tensor; textMask: Tensor } {
  const batch = collate(
    rows.map((inputIds) => ({ inputIds })),
    { padId },
  );
  return { inputIds: batch.inputIds as Tensor, textMask: batch.attentionMask as Tensor };
}

/** Images → float32 `[N, 3, H, W]`, via `collate`. */
export function imageTensor(images: readonly RgbImage[]): Tensor {
  return collate(images.map((pixelValues) => ({ pixelValues }))).pixelValues as Tensor;
}

/** Groups of images (the training loader's items) → one batch with every caption and the truth matrix. */
export function collateGroups(groups: readonly RetrievalImage[][], padId: number): RetrievalBatch {
  const images = groups.flat();
  const captions = images.flatMap((im, row) => im.captions.map((c) => ({ c, row, own: im.imageId })));
  return {
    pixelValues: imageTensor(images.map((im) => im.pixels)),
    ...tokenTensors(
      captions.map((x) => x.c.inputIds),
      padId,
    ),
    captionImage: captions.map((x) => x.row),
    holds: captions.map((x) => images.map((im) => captionHolds(x.c, x.own, im.imageId))),
  };
}

/** Images grouped by their group id, in order of first appearance. */
export function groupImages(images: readonly RetrievalImage[]): RetrievalImage[][] {
  const byGroup = new Map<number, RetrievalImage[]>();
  for (const im of images) {
    const list = byGroup.get(im.group) ?? [];
    list.push(im);
    byGroup.set(im.group, list);
  }
  return [...byGroup.values()];
}
