import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  AnswerVocab,
  buildWordVocab,
  decodeImageFile,
  generateDataset,
  ImageProcessor,
  imagesToTensor,
  type RgbImage,
  readVqaV2,
  type VqaSample,
  WordPieceTokenizer,
} from '@polymodal/data';
import { vqaSoftScores } from '@polymodal/losses';
import { type Tensor, tensor } from '@polymodal/tensor';
import type { VqaConfig } from './config.js';

/** One question, ready to batch: preprocessed image, token ids, soft answer scores. */
export interface VqaExample {
  questionId: number;
  image: RgbImage;
  inputIds: number[];
  target: Float32Array;
  answers: string[];
  questionType: string;
  answerType: string;
}

export interface VqaBatch {
  pixelValues: Tensor;
  inputIds: Tensor;
  /** bool [B, L], true = real token. */
  textMask: Tensor;
  targets: Tensor;
  examples: VqaExample[];
}

export interface PreparedData {
  train: VqaExample[];
  val: VqaExample[];
  tokenizer: WordPieceTokenizer;
  answers: AnswerVocab;
  maxLength: number;
}

const SPLITS = { train: 'train2014', val: 'val2014' } as const;

/**
 * Generates the Sort-of-CLEVR dataset in the VQA v2 layout (once; reused when present), reads it
 * back with the VQA v2 reader, builds the vocabularies from the training split, and preprocesses
 * every image once (the dataset is small enough to hold in memory).
 */
export async function prepareVqaData(config: VqaConfig, log: (line: string) => void): Promise<PreparedData> {
  const sizes = { train: config.trainImages, val: config.valImages };
  for (const part of ['train', 'val'] as const) {
    const root = join(config.dataDir, `${part}-${sizes[part]}-${config.imageSize}px-seed${config.seed}`);
    const split = SPLITS[part];
    if (!existsSync(join(root, `v2_mscoco_${split}_annotations.json`))) {
      log(`generating ${sizes[part]} ${part} scenes into ${root}`);
      await generateDataset({
        images: sizes[part],
        seed: config.seed * 7919 + (part === 'train' ? 0 : 1),
        out: root,
        split,
        size: config.imageSize,
        objects: config.objects,
        questionsPerImage: config.questionsPerImage,
      });
    }
  }
  const read = async (part: 'train' | 'val') =>
    (
      await readVqaV2({
        root: join(config.dataDir, `${part}-${sizes[part]}-${config.imageSize}px-seed${config.seed}`),
        split: SPLITS[part],
      })
    ).samples;
  const [trainSamples, valSamples] = [await read('train'), await read('val')];

  const tokenizer = new WordPieceTokenizer(buildWordVocab(trainSamples.map((s) => s.question)));
  const answers = AnswerVocab.build(trainSamples.flatMap((s) => s.answers));
  const maxLength = 2 + Math.max(...trainSamples.map((s) => tokenizer.encode(s.question).inputIds.length));
  const processor = new ImageProcessor({
    do_resize: false,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
  });

  const images = new Map<string, RgbImage>();
  const toExamples = async (samples: readonly VqaSample[]): Promise<VqaExample[]> => {
    const out: VqaExample[] = [];
    for (const s of samples) {
      let image = images.get(s.imagePath);
      if (!image) {
        image = processor.preprocess(await decodeImageFile(s.imagePath));
        images.set(s.imagePath, image);
      }
      out.push({
        questionId: s.questionId,
        image,
        inputIds: tokenizer.encode(s.question, undefined, { truncation: true, maxLength }).inputIds,
        target: vqaSoftScores(s.answers, answers.answers),
        answers: s.answers,
        questionType: s.questionType ?? 'unknown',
        answerType: s.answerType ?? 'unknown',
      });
    }
    return out;
  };
  const train = await toExamples(trainSamples);
  const val = await toExamples(valSamples);
  log(
    `data: ${train.length} train / ${val.length} val questions, ${tokenizer.vocabSize} tokens, ${answers.size} answers`,
  );
  return { train, val, tokenizer, answers, maxLength };
}

/** Stacks examples into tensors: images [B,3,H,W], right-padded ids [B,L], mask, soft targets. */
export function collateVqa(examples: VqaExample[], padId: number): VqaBatch {
  const length = Math.max(...examples.map((e) => e.inputIds.length));
  const ids = new Int32Array(examples.length * length).fill(padId);
  const mask = new Uint8Array(examples.length * length);
  examples.forEach((e, i) => {
    ids.set(e.inputIds, i * length);
    mask.fill(1, i * length, i * length + e.inputIds.length);
  });
  const numAnswers = examples[0]!.target.length;
  const targets = new Float32Array(examples.length * numAnswers);
  examples.forEach((e, i) => targets.set(e.target, i * numAnswers));
  return {
    pixelValues: imagesToTensor(examples.map((e) => e.image)),
    inputIds: tensor(ids, { shape: [examples.length, length] }),
    textMask: tensor(mask, { shape: [examples.length, length], dtype: 'bool' }),
    targets: tensor(targets, { shape: [examples.length, numAnswers] }),
    examples,
  };
}
