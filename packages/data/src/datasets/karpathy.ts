import { join } from 'node:path';
import { DatasetError } from './dataset-error.js';
import { confinedPath } from './image-path.js';
import { field, readJsonFile } from './json-schema.js';

export interface KarpathySample {
  imageId: number;
  cocoId?: number;
  imagePath: string;
  split: string;
  /** Raw sentences. */
  sentences: string[];
  /** Karpathy's lower-cased tokenisation of each sentence. */
  tokens: string[][];
}

export interface ReadKarpathyOptions {
  /** Path of `dataset_coco.json` / `dataset_flickr30k.json`. */
  file: string;
  /** Root under which `filepath/filename` are resolved. */
  imageRoot: string;
  /** Keep only these splits (`train`, `val`, `test`, `restval`). */
  splits?: readonly string[];
  /** Report `restval` images as `train` (the usual "Karpathy train" of 113k images). Default true. */
  restvalAsTrain?: boolean;
}

const READER = 'readKarpathy';

/**
 * Reads Karpathy & Fei-Fei's caption splits (2015, "Deep Visual-Semantic Alignments"):
 * `{ images: [{ filepath, filename, imgid, cocoid, split, sentences: [{ raw, tokens }] }] }`.
 *
 * ```ts
 * const test = await readKarpathy({ file: 'dataset_coco.json', imageRoot: 'coco', splits: ['test'] });
 * ```
 */
export async function readKarpathy(options: ReadKarpathyOptions): Promise<KarpathySample[]> {
  const { file } = options;
  const json = await readJsonFile(READER, file);
  const restval = options.restvalAsTrain ?? true;
  const out: KarpathySample[] = [];
  field<unknown[]>(READER, file, 'root', json, 'images', 'array').forEach((img, i) => {
    const path = `images[${i}]`;
    let split = field<string>(READER, file, path, img, 'split', 'string');
    if (restval && split === 'restval') split = 'train';
    if (options.splits && !options.splits.includes(split)) return;
    const sentences = field<unknown[]>(READER, file, path, img, 'sentences', 'array');
    const filepath = (img as { filepath?: unknown }).filepath;
    const name = join(
      typeof filepath === 'string' ? filepath : '',
      field<string>(READER, file, path, img, 'filename', 'string'),
    );
    const where = confinedPath(options.imageRoot, name);
    if ('problem' in where)
      throw new DatasetError(READER, file, `${path} image ${JSON.stringify(name)}: ${where.problem}`);
    out.push({
      imageId: field<number>(READER, file, path, img, 'imgid', 'number'),
      cocoId: (img as { cocoid?: number }).cocoid,
      imagePath: where.path,
      split,
      sentences: sentences.map((s, j) =>
        field<string>(READER, file, `${path}.sentences[${j}]`, s, 'raw', 'string'),
      ),
      tokens: sentences.map((s, j) =>
        field<string[]>(READER, file, `${path}.sentences[${j}]`, s, 'tokens', 'array'),
      ),
    });
  });
  return out;
}
