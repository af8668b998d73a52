import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from '@polymodal/app-kit';
import { decodeImage, type ImageProcessor, type RgbImage, WordPieceTokenizer } from '@polymodal/data';
import { deserializeSafetensors, serializeSafetensors } from '@polymodal/nn';
import { ArgumentError, noGrad, scope, softmax, tensor } from '@polymodal/tensor';
import { vqaImageProcessor, vqaPreprocessorConfig } from './data/dataset.js';
import { VqaModel, type VqaModelConfig } from './model/vqa-model.js';

/** The files of a bundle, as Hugging Face names them. */
export const BUNDLE_FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  vocab: 'vocab.txt',
  answers: 'answers.json',
  preprocessor: 'preprocessor_config.json',
  trainingArgs: 'training_args.json',
} as const;

/** One scored answer. */
export interface ScoredAnswer {
  answer: string;
  score: number;
}

/** A loaded bundle: the model in eval mode and everything needed to ask it a question. */
export interface VqaBundle {
  dir: string;
  config: VqaModelConfig;
  model: VqaModel;
  tokenizer: WordPieceTokenizer;
  answers: string[];
  processor: ImageProcessor;
  /** Top-`k` answers with softmax probabilities; `notes` says e.g. that no word was known. */
  predict(
    input: { image: RgbImage; question: string },
    k?: number,
  ): { answers: ScoredAnswer[]; notes: string[] };
}

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
  await writeJsonAtomic(join(dir, BUNDLE_FILES.config), { model_type: 'polymodal-vqa', ...model.config });
  await writeFileAtomic(join(dir, BUNDLE_FILES.weights), serializeSafetensors(model.stateDict()));
  await writeFileAtomic(join(dir, BUNDLE_FILES.vocab), `${parts.tokenizer.idToToken.join('\n')}\n`);
  await writeJsonAtomic(join(dir, BUNDLE_FILES.answers), parts.answers);
  await writeJsonAtomic(join(dir, BUNDLE_FILES.preprocessor), vqaPreprocessorConfig(model.config.imageSize));
  await writeJsonAtomic(join(dir, BUNDLE_FILES.trainingArgs), parts.trainingArgs);
}

/** Loads a bundle saved by `saveVqaBundle`; a missing file or weights of another config fail by name. */
export async function loadVqaBundle(dir: string): Promise<VqaBundle> {
  const op = 'loadVqaBundle';
  const { model_type: modelType, ...config } = (await readJsonFile(
    join(dir, BUNDLE_FILES.config),
  )) as VqaModelConfig & {
    model_type?: string;
  };
  if (modelType !== 'polymodal-vqa')
    throw new ArgumentError(
      op,
      `${join(dir, BUNDLE_FILES.config)} is not a VQA bundle config (model_type ${modelType})`,
    );
  const answers = (await readJsonFile(join(dir, BUNDLE_FILES.answers))) as string[];
  if (!Array.isArray(answers) || answers.length !== config.numAnswers)
    throw new ArgumentError(
      op,
      `answers.json has ${answers?.length} answers, config.json says ${config.numAnswers}`,
    );
  const tokenizer = WordPieceTokenizer.fromVocabText(await readText(join(dir, BUNDLE_FILES.vocab)));
  const model = new VqaModel(config);
  const weights = deserializeSafetensors(
    new Uint8Array(await readFile(join(dir, BUNDLE_FILES.weights))),
  ).tensors;
  model.loadStateDict(weights); // strict: missing, unexpected and mis-shaped keys are named
  for (const t of Object.values(weights)) t.dispose();
  model.eval();
  const processor = vqaImageProcessor(config.imageSize);
  return {
    dir,
    config,
    model,
    tokenizer,
    answers,
    processor,
    predict: ({ image, question }, k = 5) =>
      predictOne(model, tokenizer, processor, answers, image, question, k),
  };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ArgumentError('loadVqaBundle', `cannot read ${path}: ${(e as Error).message}`);
  }
}

function predictOne(
  model: VqaModel,
  tokenizer: WordPieceTokenizer,
  processor: ImageProcessor,
  answers: readonly string[],
  image: RgbImage,
  question: string,
  k: number,
): { answers: ScoredAnswer[]; notes: string[] } {
  if (typeof question !== 'string' || question.trim() === '')
    throw new ArgumentError('predict', 'question must be a non-empty string');
  const notes: string[] = [];
  const ids = tokenizer.encode(question, undefined, {
    truncation: true,
    maxLength: model.config.maxTextLength,
  }).inputIds;
  // Punctuation is in every vocabulary; a question is understood only through its words.
  const unk = tokenizer.specialId('unk');
  const words = ids.slice(1, -1).filter((id) => id === unk || /[\p{L}\p{N}]/u.test(tokenizer.idToToken[id]!));
  if (words.every((id) => id === unk))
    notes.push('no word of the question is in the vocabulary: the answer comes from the image alone');
  const probs = noGrad(() =>
    scope(() => {
      const chw = processor.preprocessToChw(image);
      const pixels = tensor(chw.chw, { shape: [1, 3, chw.height, chw.width] });
      const inputIds = tensor(Int32Array.from(ids), { shape: [1, ids.length] });
      const mask = tensor(new Uint8Array(ids.length).fill(1), { shape: [1, ids.length], dtype: 'bool' });
      return softmax(model.forward(pixels, inputIds, mask).logits, -1).dataSync();
    }),
  );
  const ranked = [...probs]
    .map((score, i) => ({ answer: answers[i]!, score }))
    .sort((a, b) => b.score - a.score);
  return { answers: ranked.slice(0, k), notes };
}

/** Decodes an image file's bytes for `predict` (PNG, JPEG, WebP, GIF, TIFF, AVIF). */
export async function readImage(path: string): Promise<RgbImage> {
  return decodeImage(new Uint8Array(await readFile(path)), { file: path });
}
