import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  AnswerVocab,
  buildWordVocab,
  type ChwImage,
  decodeImageFile,
  ImageProcessor,
  readCocoCaptions,
  readVqaV2,
  type VqaSample,
  WordPieceTokenizer,
} from '@polymodal/data';
import { normalizeVqaAnswer } from '@polymodal/losses';
import { ArgumentError } from '@polymodal/tensor';
import pMap from 'p-map';

/** Where one split of a VQA v2-layout folder is. */
export interface SplitSource {
  root: string;
  /** e.g. `train2014`: file names `v2_OpenEnded_mscoco_<split>_questions.json`, … */
  split: string;
}

/** One question about one image. */
export interface VqaExample {
  questionId: number;
  /** Index into the split's `images`. */
  imageIndex: number;
  question: string;
  inputIds: number[];
  /** Index of the most common human answer in the answer list, or −100 when it is not in the list. */
  label: number;
  answers: string[];
  questionType: string;
  answerType: string;
}

/** One caption of one image (for pretraining). */
export interface CaptionExample {
  imageIndex: number;
  caption: string;
  inputIds: number[];
}

export interface VqaSplit {
  source: SplitSource;
  /** Preprocessed images (resized to the model's input, rescaled, normalized), CHW. */
  images: ChwImage[];
  imagePaths: string[];
  examples: VqaExample[];
  /** Empty when the folder has no `annotations/captions_<split>.json`. */
  captions: CaptionExample[];
}

/** Tokenizer, answers and the longest text, fixed by the training split. */
export interface Vocabularies {
  tokenizer: WordPieceTokenizer;
  answers: AnswerVocab;
  maxLength: number;
}

/** The app's `preprocessor_config.json`: resize to `imageSize`², scale to [−1, 1] (mean = std = 0.5). */
export function vqaPreprocessorConfig(imageSize: number) {
  return {
    image_processor_type: 'ViTImageProcessor',
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

/** The image processor of `vqaPreprocessorConfig` (HF ViT semantics: an exact square resize). */
export function vqaImageProcessor(imageSize: number): ImageProcessor {
  return new ImageProcessor(vqaPreprocessorConfig(imageSize));
}

/** The COCO captions file the generator writes next to a split, if there is one. */
export function captionsFile(source: SplitSource): string {
  return join(source.root, 'annotations', `captions_${source.split}.json`);
}

/** Questions (and captions, when present) of a split, before tokenizing. */
export interface RawSplit {
  source: SplitSource;
  samples: VqaSample[];
  captions: { imagePath: string; caption: string }[];
}

/** Reads a VQA v2-layout split (and its COCO captions if the folder has them). */
export async function readSplit(source: SplitSource): Promise<RawSplit> {
  const { samples } = await readVqaV2({ root: source.root, split: source.split });
  if (samples.length === 0)
    throw new ArgumentError('readSplit', `${source.root} (${source.split}) holds no questions`);
  const file = captionsFile(source);
  const captions: RawSplit['captions'] = [];
  if (existsSync(file)) {
    const read = await readCocoCaptions({ annotationsFile: file, imageDir: join(source.root, source.split) });
    for (const s of read.samples)
      for (const caption of s.captions) captions.push({ imagePath: s.imagePath, caption });
  }
  return { source, samples, captions };
}

/**
 * Vocabularies from the training split: a word-level WordPiece vocabulary over its questions and
 * captions, the answers (normalised as the official metric does) by frequency, and the longest
 * tokenized text + 2 (for `[CLS]`/`[SEP]`).
 */
export function buildVocabularies(train: RawSplit, maxAnswers?: number): Vocabularies {
  const texts = [...train.samples.map((s) => s.question), ...train.captions.map((c) => c.caption)];
  const tokenizer = new WordPieceTokenizer(buildWordVocab(texts));
  const answers = AnswerVocab.build(
    train.samples.flatMap((s) => s.answers.map((a) => normalizeVqaAnswer(a))),
    maxAnswers ? { topK: maxAnswers } : {},
  );
  // A loop, not Math.max(...lengths): 10,000 scenes make 130,000 texts, past the argument limit.
  let longest = 0;
  for (const t of texts) longest = Math.max(longest, tokenizer.encode(t).inputIds.length - 2);
  const maxLength = 2 + longest;
  return { tokenizer, answers, maxLength };
}

/** The most common of the human answers (ties: the first met), normalised. */
export function majorityAnswer(answers: readonly string[]): string {
  const counts = new Map<string, number>();
  let best = '';
  let bestCount = 0;
  for (const a of answers) {
    const n = normalizeVqaAnswer(a);
    const c = (counts.get(n) ?? 0) + 1;
    counts.set(n, c);
    if (c > bestCount) {
      best = n;
      bestCount = c;
    }
  }
  return best;
}

/** Images decoded at once while reading a split (sharp runs them on its own threads). */
const DECODE_CONCURRENCY = 8;

/**
 * Decodes and preprocesses every image of a split once (the sample datasets fit in memory), and
 * tokenizes its questions and captions.
 */
export async function encodeSplit(
  raw: RawSplit,
  vocab: Vocabularies,
  processor: ImageProcessor,
): Promise<VqaSplit> {
  // Every distinct image once, in first-use order (questions, then captions); decoded several at a
  // time, since sharp decodes off the main thread (one at a time left it idle half of the read).
  const imageIndex = new Map<string, number>();
  const imagePaths: string[] = [];
  for (const path of [...raw.samples.map((s) => s.imagePath), ...raw.captions.map((c) => c.imagePath)]) {
    if (!imageIndex.has(path)) {
      imageIndex.set(path, imagePaths.length);
      imagePaths.push(path);
    }
  }
  const images: ChwImage[] = await pMap(
    imagePaths,
    async (path) => processor.preprocessToChw(await decodeImageFile(path)),
    { concurrency: DECODE_CONCURRENCY },
  );
  const indexOf = (path: string): number => imageIndex.get(path)!;
  const encode = (text: string) =>
    vocab.tokenizer.encode(text, undefined, { truncation: true, maxLength: vocab.maxLength }).inputIds;
  const examples: VqaExample[] = [];
  for (const s of raw.samples) {
    const answer = s.answers.length > 0 ? majorityAnswer(s.answers) : '';
    const label = vocab.answers.answers.indexOf(answer);
    examples.push({
      questionId: s.questionId,
      imageIndex: indexOf(s.imagePath),
      question: s.question,
      inputIds: encode(s.question),
      label: label > 0 ? label : -100,
      answers: s.answers,
      questionType: s.questionType ?? 'unknown',
      answerType: s.answerType ?? 'unknown',
    });
  }
  const captions: CaptionExample[] = [];
  for (const c of raw.captions) {
    captions.push({
      imageIndex: indexOf(c.imagePath),
      caption: c.caption,
      inputIds: encode(c.caption),
    });
  }
  return { source: raw.source, images, imagePaths, examples, captions };
}
