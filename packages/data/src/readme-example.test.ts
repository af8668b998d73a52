import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  AnswerVocab,
  collate,
  DataLoader,
  ImageDecodePool,
  ImageProcessor,
  readVqaV2,
  vqaDataset,
  WordPieceTokenizer,
} from './index.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

describe('README example', () => {
  it('runs end to end on the VQA fixture through the package entry point', async () => {
    const tokenizer = WordPieceTokenizer.fromVocabText(
      readFileSync(join(fixtures, 'text/vocab.txt'), 'utf8'),
    );
    const processor = ImageProcessor.fromConfig({ size: { height: 8, width: 8 }, resample: 3 });
    const { samples, report } = await readVqaV2({
      root: join(fixtures, 'vqa'),
      split: 'val2014',
      onError: 'skip',
    });
    const answers = AnswerVocab.build(
      samples.map((s) => s.multipleChoiceAnswer ?? ''),
      { topK: 3000 },
    );
    const pool = new ImageDecodePool({ workers: 1 });
    const loader = new DataLoader(
      vqaDataset(samples, { tokenizer, processor, answers, pool, maxLength: 32 }),
      {
        batchSize: 3,
        shuffle: true,
        seed: 0,
        prefetch: 2,
        onError: 'skip',
        report,
        collate: (items) => collate(items, { padId: tokenizer.padId }),
      },
    );
    const shapes: (readonly number[])[][] = [];
    for await (const batch of loader) {
      shapes.push(
        ['inputIds', 'attentionMask', 'pixelValues', 'target'].map((k) => (batch[k] as Tensor).shape),
      );
    }
    await pool.close();
    expect(shapes[0]![2]).toEqual([3, 3, 8, 8]);
    expect(shapes[0]![3]).toEqual([3, 5]);
    expect(shapes[1]![2]).toEqual([1, 3, 8, 8]);
    expect(report.summary()).toBe('skipped 0 of 4');
  });
});
