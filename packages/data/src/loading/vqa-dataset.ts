import type { AnswerVocab } from '../datasets/answer-vocab.js';
import type { SkipReport } from '../datasets/skip-report.js';
import type { VqaSample } from '../datasets/vqa-v2.js';
import { decodeImageFile } from '../image/decode-image.js';
import type { ImageProcessor } from '../image/image-processor.js';
import type { RgbImage } from '../image/rgb-image.js';
import type { WordPieceTokenizer } from '../text/wordpiece-tokenizer.js';
import type { Dataset } from './data-loader.js';
import type { ImageDecodePool } from './image-decode-pool.js';

/** A training-ready VQA item; `collate` turns a list of them into tensors. */
export interface VqaItem extends Record<string, unknown> {
  questionId: number;
  inputIds: number[];
  pixelValues: RgbImage;
  /** Soft answer scores over the answer vocabulary. */
  target: Float32Array;
}

/**
 * VQA samples → tokenized question, processed image and soft target, decoding images on `pool`
 * when given (else on the main thread).
 *
 * ```ts
 * const ds = vqaDataset(samples, { tokenizer, processor, answers, maxLength: 32, pool });
 * const loader = new DataLoader(ds, { batchSize: 64, shuffle: true, collate: (s) => collate(s, { padId: tokenizer.padId }) });
 * ```
 */
export function vqaDataset(
  samples: readonly VqaSample[],
  options: {
    tokenizer: WordPieceTokenizer;
    processor: ImageProcessor;
    answers: AnswerVocab;
    maxLength?: number;
    pool?: ImageDecodePool;
    /** Receives counts of truncated questions and answers mapped to `[UNK]`. */
    report?: SkipReport;
  },
): Dataset<VqaItem> {
  const { tokenizer, processor, answers, pool } = options;
  return {
    length: samples.length,
    async get(i) {
      const s = samples[i]!;
      const img = pool ? await pool.decode(s.imagePath) : await decodeImageFile(s.imagePath);
      const truncatedBefore = tokenizer.stats.truncated;
      const unknownBefore = answers.unknownCount;
      const enc = tokenizer.encode(s.question, undefined, {
        truncation: options.maxLength !== undefined,
        maxLength: options.maxLength,
      });
      const target = answers.softTarget(s.answers);
      if (options.report) {
        options.report.truncated += tokenizer.stats.truncated - truncatedBefore;
        options.report.unknownAnswers += answers.unknownCount - unknownBefore;
      }
      return {
        questionId: s.questionId,
        inputIds: enc.inputIds,
        pixelValues: processor.preprocess(img),
        target,
      };
    },
  };
}
