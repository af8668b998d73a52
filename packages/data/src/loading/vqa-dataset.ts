import type { AnswerVocab } from '../datasets/answer-vocab.js';
import type { SkipReport } from '../datasets/skip-report.js';
import type { VqaSample } from '../datasets/vqa-v2.js';
import { decodeImageFile } from '../image/decode-image.js';
import type { ImageProcessor } from '../image/image-processor.js';
import type { ChwImage } from '../image/transforms.js';
import type { WordPieceTokenizer } from '../text/wordpiece-tokenizer.js';
import type { Dataset } from './data-loader.js';
import type { ImageDecodePool } from './image-decode-pool.js';

/** A training-ready VQA item; `collate` turns a list of them into tensors. */
export interface VqaItem extends Record<string, unknown> {
  questionId: number;
  inputIds: number[];
  /** The processed image, channel-first; `collate` stacks these into [N, 3, H, W]. */
  pixelValues: ChwImage;
  /** Soft answer scores over the answer vocabulary. */
  target: Float32Array;
}

/**
 * VQA samples → tokenized question, processed image and soft target. With a `pool`, each image is
 * decoded and preprocessed in a worker (`pool.preprocess`), so the main thread only tokenizes and,
 * in the loader, collates; without one, both happen on the main thread. Both paths give
 * bit-identical pixels.
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
    /**
     * Where `processor` runs when a `pool` is given: `'worker'` (default) or `'main'` (the pool
     * only decodes; for comparison, or for a processor subclass that overrides `preprocess`).
     */
    preprocessIn?: 'worker' | 'main';
    /** Receives counts of truncated questions and answers mapped to `[UNK]`. */
    report?: SkipReport;
  },
): Dataset<VqaItem> {
  const { tokenizer, processor, answers, pool } = options;
  return {
    length: samples.length,
    async get(i) {
      const s = samples[i]!;
      const pixelValues =
        pool && options.preprocessIn !== 'main'
          ? await pool.preprocess(s.imagePath, processor)
          : processor.preprocessToChw(
              pool ? await pool.decode(s.imagePath) : await decodeImageFile(s.imagePath),
            );
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
        pixelValues,
        target,
      };
    },
  };
}
