import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateDataset } from '@polymodal/data';
import type { GeneratedDataConfig } from '../config.js';
import type { SplitSource } from './dataset.js';

export const TRAIN_SPLIT = 'train2014';
export const VAL_SPLIT = 'val2014';

/** The folders of the generated train and validation splits for a data config and seed. */
export function generatedSources(
  data: GeneratedDataConfig,
  seed: number,
): { train: SplitSource; val: SplitSource } {
  const name = (part: string, n: number) =>
    join(data.dataDir, `${part}-${n}-${data.imageSize}px-${data.objects}obj-seed${seed}`);
  return {
    train: { root: name('train', data.trainImages), split: TRAIN_SPLIT },
    val: { root: name('val', data.valImages), split: VAL_SPLIT },
  };
}

/**
 * Generates the Sort-of-CLEVR train and validation splits in the VQA v2 layout (with COCO captions
 * for pretraining) unless they are already there. Each split has its own seed, so no validation
 * image is a training image.
 */
export async function ensureGenerated(
  data: GeneratedDataConfig,
  seed: number,
  log: (line: string) => void,
): Promise<{ train: SplitSource; val: SplitSource }> {
  const sources = generatedSources(data, seed);
  for (const [part, n] of [
    ['train', data.trainImages],
    ['val', data.valImages],
  ] as const) {
    const source = sources[part];
    if (existsSync(join(source.root, `v2_mscoco_${source.split}_annotations.json`))) continue;
    log(`generating ${n} ${part} scenes into ${source.root}`);
    await generateDataset({
      images: n,
      seed: seed * 7919 + (part === 'train' ? 0 : 1),
      out: source.root,
      split: source.split,
      size: data.imageSize,
      objects: data.objects,
      questionsPerImage: data.questionsPerImage,
      captionsPerImage: data.captionsPerImage,
    });
  }
  return sources;
}
