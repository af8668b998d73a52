import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '@polymodal/app-kit';
import { decodeImage, type RgbImage, type WordPieceTokenizer } from '@polymodal/data';
import { serializeSafetensors } from '@polymodal/nn';
import { ArgumentError } from '@polymodal/tensor';
import {
  BUNDLE_FILES,
  type BundleFiles,
  bundleFromFiles,
  MODEL_TYPE,
  type VqaBundle,
} from './bundle-core.js';
import { vqaPreprocessorConfig } from './data/dataset.js';
import type { VqaModel } from './model/vqa-model.js';

export {
  BUNDLE_FILES,
  type BundleFiles,
  bundleFromFiles,
  type ScoredAnswer,
  type VqaBundle,
  type VqaPrediction,
} from './bundle-core.js';

/**
 * Saves a trained model as a bundle a new process can load alone: `config.json` (architecture,
 * fusion by registry name, answer count), `model.safetensors` (PyTorch-style names), `vocab.txt`,
 * `answers.json` (head order), `preprocessor_config.json` (HF keys) and `training_args.json`.
 * Every file is written atomically.
 */
export async function saveVqaBundle(
  dir: string,
  parts: {
    model: VqaModel;
    tokenizer: WordPieceTokenizer;
    answers: readonly string[];
    trainingArgs: unknown;
  },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { model } = parts;
  await writeJsonAtomic(join(dir, BUNDLE_FILES.config), { model_type: MODEL_TYPE, ...model.config });
  await writeFileAtomic(join(dir, BUNDLE_FILES.weights), serializeSafetensors(model.stateDict()));
  await writeFileAtomic(join(dir, BUNDLE_FILES.vocab), `${parts.tokenizer.idToToken.join('\n')}\n`);
  await writeJsonAtomic(join(dir, BUNDLE_FILES.answers), parts.answers);
  await writeJsonAtomic(join(dir, BUNDLE_FILES.preprocessor), vqaPreprocessorConfig(model.config.imageSize));
  await writeJsonAtomic(join(dir, BUNDLE_FILES.trainingArgs), parts.trainingArgs);
}

/**
 * Loads a bundle saved by `saveVqaBundle` and returns it ready to answer; a missing file, a file
 * that is not what it should be, or files from different configs fail naming the file and key.
 *
 * ```ts
 * const bundle = await loadVqaBundle('runs/vqa/bundle');
 * bundle.predict({ image: await readImage('scene.png'), question: 'What shape is the red object?' });
 * ```
 */
export async function loadVqaBundle(dir: string): Promise<VqaBundle> {
  const missing = Object.values(BUNDLE_FILES).filter((f) => !existsSync(join(dir, f)));
  if (missing.length)
    throw new ArgumentError(
      'loadVqaBundle',
      `${dir} is not a complete VQA bundle: missing ${missing.join(', ')} (a bundle has ${Object.values(BUNDLE_FILES).join(', ')})`,
    );
  const text = (name: keyof typeof BUNDLE_FILES) => readFile(join(dir, BUNDLE_FILES[name]), 'utf8');
  const json = async (name: keyof typeof BUNDLE_FILES) => {
    const body = await text(name);
    try {
      return JSON.parse(body) as unknown;
    } catch (e) {
      throw new ArgumentError(
        'loadVqaBundle',
        `${join(dir, BUNDLE_FILES[name])} is not valid JSON: ${(e as Error).message}`,
      );
    }
  };
  const files: BundleFiles = {
    config: await json('config'),
    weights: new Uint8Array(await readFile(join(dir, BUNDLE_FILES.weights))),
    vocab: await text('vocab'),
    answers: await json('answers'),
    preprocessor: await json('preprocessor'),
    trainingArgs: await json('trainingArgs'),
  };
  return bundleFromFiles(files, dir);
}

/** Decodes an image file's bytes for `predict` (PNG, JPEG, WebP, GIF, TIFF, AVIF). */
export async function readImage(path: string): Promise<RgbImage> {
  return decodeImage(new Uint8Array(await readFile(path)), { file: path });
}
