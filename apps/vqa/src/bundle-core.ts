// The part of a bundle that runs anywhere: no `node:*` import, so the web page bundles it too.
import {
  ImageProcessor,
  type PreprocessorConfig,
  type RgbImage,
  WordPieceTokenizer,
} from '@polymodal/data/browser';
import { deserializeSafetensors } from '@polymodal/nn';
import { ArgumentError, noGrad, scope, softmax, tensor } from '@polymodal/tensor';
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

/** `model_type` in `config.json`. */
export const MODEL_TYPE = 'polymodal-vqa';

/** One scored answer. */
export interface ScoredAnswer {
  answer: string;
  score: number;
}

/** What `predict` returns: the top answers and notes such as "no word was known". */
export interface VqaPrediction {
  answers: ScoredAnswer[];
  notes: string[];
}

/** A bundle's files, read (from disk, or fetched by the web page). */
export interface BundleFiles {
  config: unknown;
  weights: Uint8Array;
  vocab: string;
  answers: unknown;
  preprocessor: unknown;
  trainingArgs: unknown;
}

/** A loaded bundle: the model in eval mode and everything needed to ask it a question. */
export interface VqaBundle {
  /** Where it was loaded from (a folder or a URL). */
  source: string;
  config: VqaModelConfig;
  model: VqaModel;
  tokenizer: WordPieceTokenizer;
  answers: string[];
  processor: ImageProcessor;
  trainingArgs: unknown;
  /**
   * Top-`k` answers (default 5) with softmax probabilities over every answer.
   *
   * ```ts
   * bundle.predict({ image, question: 'What color is the shape?' }).answers[0]; // { answer: 'red', score: 0.83 }
   * ```
   */
  predict(input: { image: RgbImage; question: string }, k?: number): VqaPrediction;
}

const OP = 'loadVqaBundle';

/**
 * Builds a ready bundle from its files, checking them against each other: `config.json`'s
 * `numAnswers`, `vocabSize` and `imageSize` against `answers.json`, `vocab.txt` and
 * `preprocessor_config.json`, and the weights against the architecture (strict: every missing,
 * unexpected or mis-shaped tensor named). Each mismatch names the file and the key.
 */
export function bundleFromFiles(files: BundleFiles, source: string): VqaBundle {
  const file = (name: keyof typeof BUNDLE_FILES) => `${source}/${BUNDLE_FILES[name]}`;
  const raw = files.config as (VqaModelConfig & { model_type?: string }) | null;
  if (typeof raw !== 'object' || raw === null || raw.model_type !== MODEL_TYPE)
    throw new ArgumentError(
      OP,
      `${file('config')} is not a VQA bundle config (model_type ${raw?.model_type}, expected '${MODEL_TYPE}')`,
    );
  const { model_type: _type, ...config } = raw;
  const mismatches: string[] = [];
  const answers = files.answers;
  if (!Array.isArray(answers) || answers.some((a) => typeof a !== 'string'))
    throw new ArgumentError(OP, `${file('answers')} must be a JSON array of answer strings`);
  if (answers.length !== config.numAnswers)
    mismatches.push(
      `numAnswers: ${config.numAnswers} in config.json, ${answers.length} answers in answers.json`,
    );
  const tokenizer = WordPieceTokenizer.fromVocabText(files.vocab);
  if (tokenizer.vocabSize !== config.vocabSize)
    mismatches.push(
      `vocabSize: ${config.vocabSize} in config.json, ${tokenizer.vocabSize} tokens in vocab.txt`,
    );
  const pre = files.preprocessor as PreprocessorConfig & { size?: { height?: number; width?: number } };
  const size = pre?.size;
  if (size?.height !== config.imageSize || size?.width !== config.imageSize)
    mismatches.push(
      `imageSize: ${config.imageSize} in config.json, size ${JSON.stringify(size)} in preprocessor_config.json`,
    );
  if (mismatches.length)
    throw new ArgumentError(OP, `the files of ${source} do not belong together: ${mismatches.join('; ')}`);
  const model = new VqaModel(config);
  let weights: ReturnType<typeof deserializeSafetensors>['tensors'];
  try {
    weights = deserializeSafetensors(files.weights).tensors;
  } catch (e) {
    throw new ArgumentError(OP, `${file('weights')}: ${(e as Error).message}`);
  }
  try {
    model.loadStateDict(weights);
  } catch (e) {
    const keys = configKeysOf(config, weights);
    throw new ArgumentError(
      OP,
      `${file('weights')} does not fit the architecture in ${file('config')}${keys.length ? ` (${keys.join('; ')})` : ''}: ${(e as Error).message}`,
    );
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
  model.eval();
  const processor = new ImageProcessor(pre);
  return {
    source,
    config,
    model,
    tokenizer,
    answers: answers as string[],
    processor,
    trainingArgs: files.trainingArgs,
    predict: (input, k = 5) =>
      predictWith({ model, tokenizer, processor, answers: answers as string[] }, input, k),
  };
}

/** The config keys the weights' shapes contradict (read from tensors every architecture has). */
function configKeysOf(
  config: VqaModelConfig,
  weights: Record<string, { shape: readonly number[] }>,
): string[] {
  const read: [keyof VqaModelConfig, string, number][] = [
    ['dModel', 'image.project.bias', 0],
    ['vocabSize', 'text.tokens.weight', 0],
    ['maxTextLength', 'text.positions', 0],
  ];
  const out: string[] = [];
  for (const [key, name, axis] of read) {
    const saved = weights[name]?.shape[axis];
    if (saved !== undefined && saved !== config[key])
      out.push(`${key}: ${config[key]} in config.json, ${saved} in the weights (${name})`);
  }
  return out;
}

/** Token ids of a question as the model reads it, and whether any of its words is known. */
export function encodeQuestion(
  tokenizer: WordPieceTokenizer,
  question: string,
  maxLength: number,
): { ids: number[]; knownWords: number } {
  if (typeof question !== 'string' || question.trim() === '')
    throw new ArgumentError('predict', 'question must be a non-empty string');
  const ids = tokenizer.encode(question, undefined, { truncation: true, maxLength }).inputIds;
  // Punctuation is in every vocabulary; a question is understood only through its words.
  const unk = tokenizer.specialId('unk');
  const known = ids
    .slice(1, -1)
    .filter((id) => id !== unk && /[\p{L}\p{N}]/u.test(tokenizer.idToToken[id]!)).length;
  return { ids, knownWords: known };
}

/** What answering needs: a model (in eval mode), its tokenizer, image processor and answer list. */
export interface Predictor {
  model: VqaModel;
  tokenizer: WordPieceTokenizer;
  processor: ImageProcessor;
  answers: readonly string[];
}

/**
 * The top-`k` answers of one question about one image, with softmax probabilities (what a bundle's
 * `predict` does; also usable on a model still in memory, before it is saved).
 */
export function predictWith(
  { model, tokenizer, processor, answers }: Predictor,
  { image, question }: { image: RgbImage; question: string },
  k = 5,
): VqaPrediction {
  const notes: string[] = [];
  const { ids, knownWords } = encodeQuestion(tokenizer, question, model.config.maxTextLength);
  if (knownWords === 0)
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
