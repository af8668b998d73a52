import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, UsageError, writeFileAtomic, writeJsonAtomic } from '@polymodal/app-kit';
import { ImageProcessor, type PreprocessorConfig, WordPieceTokenizer } from '@polymodal/data';
import { loadModule, saveModule } from '@polymodal/nn/node';
import { ITM_HEADS, type ModelConfig } from './config.js';
import { RetrievalModel } from './model.js';

/** The files of a bundle, as Hugging Face lays out a model folder. */
export const BUNDLE_FILES = [
  'config.json',
  'model.safetensors',
  'vocab.txt',
  'preprocessor_config.json',
] as const;

/** What `config.json` holds: the model's shape plus a type tag. */
export interface BundleConfig extends ModelConfig {
  model_type: 'polymodal-retrieval';
}

export interface Bundle {
  dir: string;
  config: BundleConfig;
  model: RetrievalModel;
  tokenizer: WordPieceTokenizer;
  processor: ImageProcessor;
  preprocessorConfig: PreprocessorConfig;
  /** First 16 hex digits of SHA-256 over `config.json` then `model.safetensors`. */
  modelId: string;
}

/** SHA-256 over the config's and the weights' bytes: changes when either does. */
export function modelIdOf(configBytes: Uint8Array, weightBytes: Uint8Array): string {
  return createHash('sha256').update(configBytes).update(weightBytes).digest('hex').slice(0, 16);
}

/**
 * Writes a bundle: `config.json` (the model's shape), `model.safetensors` (weights),
 * `vocab.txt` (one token per line, BERT style), `preprocessor_config.json` (Hugging Face image
 * processor keys) and `model_id.txt`. Every file is written atomically. Returns the model id.
 *
 * ```ts
 * const id = await saveBundle('runs/retrieval/bundle', model, tokenizer, preprocessorConfig(48));
 * ```
 */
export async function saveBundle(
  dir: string,
  model: RetrievalModel,
  tokenizer: WordPieceTokenizer,
  preprocessor: PreprocessorConfig,
): Promise<string> {
  const config: BundleConfig = { model_type: 'polymodal-retrieval', ...model.config };
  await writeJsonAtomic(join(dir, 'config.json'), config);
  await saveModule(join(dir, 'model.safetensors'), model);
  await writeFileAtomic(join(dir, 'vocab.txt'), `${tokenizer.idToToken.join('\n')}\n`);
  await writeJsonAtomic(join(dir, 'preprocessor_config.json'), preprocessor);
  const id = modelIdOf(
    await readFile(join(dir, 'config.json')),
    await readFile(join(dir, 'model.safetensors')),
  );
  await writeFileAtomic(join(dir, 'model_id.txt'), `${id}\n`);
  return id;
}

/**
 * Loads a bundle written by `saveBundle`; a missing folder or file, a foreign config or weights
 * that do not fit are `UsageError`s naming the file. A config without `itmHead` (written before
 * the option existed) is the `fusion` head. With the `readout` head the scene probes (`probes.*`
 * in `model.safetensors`) are the head's inputs, loaded with the rest.
 *
 * ```ts
 * const { model, tokenizer, processor, modelId } = await loadBundle('runs/retrieval/bundle');
 * ```
 */
export async function loadBundle(dir: string): Promise<Bundle> {
  if (!existsSync(dir)) throw new UsageError(`--bundle ${dir} does not exist (train one with 'train')`);
  for (const f of BUNDLE_FILES) {
    if (!existsSync(join(dir, f)))
      throw new UsageError(`--bundle ${dir} has no ${f}: not a retrieval bundle`);
  }
  const config = await readJsonFile<BundleConfig>(join(dir, 'config.json'), 'bundle config');
  if (config.model_type !== 'polymodal-retrieval') {
    throw new UsageError(
      `${join(dir, 'config.json')} is not a polymodal-retrieval config (model_type ${config.model_type})`,
    );
  }
  // Bundles written before the ITM head was a choice have no `itmHead`: theirs is the fusion.
  config.itmHead ??= 'fusion';
  if (!ITM_HEADS.includes(config.itmHead)) {
    throw new UsageError(
      `${join(dir, 'config.json')}: itmHead must be one of ${ITM_HEADS.join(', ')}, got ${JSON.stringify(config.itmHead)}`,
    );
  }
  if (config.itmHead === 'readout' && !config.sceneProbes) {
    throw new UsageError(
      `${join(dir, 'config.json')}: itmHead readout reads the scene read-outs, but sceneProbes is not set`,
    );
  }
  const preprocessorConfig = await readJsonFile<PreprocessorConfig>(
    join(dir, 'preprocessor_config.json'),
    'preprocessor config',
  );
  const tokenizer = WordPieceTokenizer.fromVocabText(await readFile(join(dir, 'vocab.txt'), 'utf8'));
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new UsageError(
      `${dir}: vocab.txt has ${tokenizer.vocabSize} tokens, config.json says ${config.vocabSize}`,
    );
  }
  const { model_type: _type, ...modelConfig } = config;
  const model = new RetrievalModel(modelConfig);
  try {
    await loadModule(join(dir, 'model.safetensors'), model, { strict: true });
  } catch (e) {
    throw new UsageError(
      `${join(dir, 'model.safetensors')} does not fit config.json: ${(e as Error).message}`,
    );
  }
  model.eval();
  const modelId = modelIdOf(
    await readFile(join(dir, 'config.json')),
    await readFile(join(dir, 'model.safetensors')),
  );
  return {
    dir,
    config,
    model,
    tokenizer,
    processor: new ImageProcessor(preprocessorConfig),
    preprocessorConfig,
    modelId,
  };
}
