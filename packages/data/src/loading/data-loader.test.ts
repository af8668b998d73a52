import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memory, type Tensor, tensor, tensorsIn } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { AnswerVocab } from '../datasets/answer-vocab.js';
import { readVqaV2 } from '../datasets/vqa-v2.js';
import { decodeImageFile } from '../image/decode-image.js';
import { ImageDecodeError } from '../image/image-decode-error.js';
import { ImageProcessor } from '../image/image-processor.js';
import { WordPieceTokenizer } from '../text/wordpiece-tokenizer.js';
import { batchStream } from './batch-stream.js';
import { collate } from './collate.js';
import { arrayDataset, DataLoader } from './data-loader.js';
import { ImageDecodePool } from './image-decode-pool.js';
import { vqaDataset } from './vqa-dataset.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const ids = (n: number) => Array.from({ length: n }, (_, i) => i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function all<B>(loader: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

describe('DataLoader', () => {
  it('batches in order, with dropLast, and reshuffles per epoch deterministically', async () => {
    const plain = new DataLoader(arrayDataset(ids(10)), { batchSize: 4, collate: (s) => s });
    expect(plain.length).toBe(3);
    expect(await all(plain)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    const dropped = new DataLoader(arrayDataset(ids(10)), {
      batchSize: 4,
      dropLast: true,
      collate: (s) => s,
    });
    expect(await all(dropped)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);

    const make = () =>
      new DataLoader(arrayDataset(ids(10)), { batchSize: 3, shuffle: true, seed: 5, collate: (s) => s });
    const a = make();
    const b = make();
    const a1 = (await all(a)).flat();
    const a2 = (await all(a)).flat();
    expect(a1).toEqual((await all(b)).flat());
    expect(a2).toEqual((await all(b)).flat());
    expect([...a1].sort((x, y) => x - y)).toEqual(ids(10));
    expect(a1).not.toEqual(ids(10));
    expect(a1).not.toEqual(a2);
    expect(a.epoch).toBe(2);
  });

  it('keeps a seed-determined order however long each sample takes (async workers)', async () => {
    // Later samples finish first: order must still follow the permutation.
    const slow = {
      length: 12,
      get: async (i: number) => {
        await sleep((12 - i) * 2);
        return i;
      },
    };
    const run = () =>
      all(new DataLoader(slow, { batchSize: 4, shuffle: true, seed: 9, prefetch: 3, collate: (s) => s }));
    const fast = all(
      new DataLoader(arrayDataset(ids(12)), { batchSize: 4, shuffle: true, seed: 9, collate: (s) => s }),
    );
    expect(await run()).toEqual(await fast);
  });

  it('resumes exactly from stateDict()', async () => {
    const make = () =>
      new DataLoader(arrayDataset(ids(23)), { batchSize: 4, shuffle: true, seed: 1, collate: (s) => s });
    const reference = make();
    await all(reference); // epoch 0
    const epoch1 = await all(reference);

    const first = make();
    await all(first); // finish epoch 0
    const seen: number[][] = [];
    for await (const batch of first) {
      seen.push(batch);
      if (seen.length === 2) break;
    }
    const state = JSON.parse(JSON.stringify(first.stateDict()));
    expect(state.epoch).toBe(1);
    expect(state.position).toBe(2);

    const resumed = make();
    resumed.loadStateDict(state);
    const rest = await all(resumed);
    expect(seen).toEqual(epoch1.slice(0, 2));
    expect(rest).toEqual(epoch1.slice(2));
    // The epoch after that also matches.
    expect(await all(resumed)).toEqual(await all(reference));
    expect(() => resumed.loadStateDict({ ...state, position: 99 })).toThrow(/position 99/);
  });

  it('skips undecodable images under onError: skip and reports them', async () => {
    const files = [
      'COCO_val2014_000000000042.jpg',
      'COCO_val2014_000000000099.jpg',
      'COCO_val2014_000000000074.png',
    ].map((f) => join(fixtures, 'vqa/val2014', f));
    const ds = arrayDataset(files, (p) => decodeImageFile(p));
    await expect(all(new DataLoader(ds, { batchSize: 2, collate: (s) => s }))).rejects.toThrow(
      ImageDecodeError,
    );
    const loader = new DataLoader(ds, { batchSize: 2, collate: (s) => s.length, onError: 'skip' });
    expect(await all(loader)).toEqual([1, 1]);
    expect(loader.report.summary()).toMatch(
      /^skipped 1 of 3: .*COCO_val2014_000000000099\.jpg: decodeImage: cannot decode/,
    );
  });

  it('prefetches `prefetch` batches ahead of the consumer', async () => {
    const requested: number[] = [];
    const ds = {
      length: 20,
      get: (i: number) => {
        requested.push(i);
        return i;
      },
    };
    const loader = new DataLoader(ds, { batchSize: 2, prefetch: 3, collate: (s) => s });
    const it = loader[Symbol.asyncIterator]();
    await it.next();
    // Batch 0 being consumed plus 3 prefetched: samples 0..7 requested, nothing beyond.
    expect([...requested].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await it.next();
    expect(Math.max(...requested)).toBe(9);
    await it.return?.();
    expect(loader.position).toBe(2);
  });

  it('owns the tensors collate makes: each batch is freed when the next is asked for or the loop ends', async () => {
    const samples = ids(10).map((i) => ({ inputIds: [i, i + 1, i + 2].slice(0, 1 + (i % 3)), label: i }));
    const loader = new DataLoader(arrayDataset(samples), { batchSize: 4, collate: (s) => collate(s) });
    const before = memory();
    const seen: Tensor[][] = [];
    for await (const batch of loader) {
      const mine = tensorsIn(batch);
      expect(mine.length).toBe(3); // inputIds, attentionMask, label
      for (const t of mine) expect(t.isDisposed).toBe(false);
      // The previous batch is gone by the time this one arrives: one batch alive at a time.
      for (const t of seen.flat()) expect(t.isDisposed).toBe(true);
      expect(memory().tensors - before.tensors).toBe(3);
      seen.push(mine);
    }
    for (const t of seen.flat()) expect(t.isDisposed).toBe(true);
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().bytes).toBe(before.bytes);

    // break and a throw in the consumer free the batch in hand too.
    for await (const batch of loader) {
      seen.push(tensorsIn(batch));
      break;
    }
    expect(memory().tensors).toBe(before.tensors);
    await expect(
      (async () => {
        for await (const _ of loader) throw new Error('consumer failed');
      })(),
    ).rejects.toThrow('consumer failed');
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().bytes).toBe(before.bytes);
  });

  it('leaves alone tensors the dataset made before (they pass through collate), and disposeBatches: false', async () => {
    const cached = ids(4).map((i) => tensor([i, i]));
    const passThrough = new DataLoader(arrayDataset(cached), { batchSize: 2, collate: (s) => s });
    for await (const _ of passThrough) {
      /* consume */
    }
    for (const t of cached) expect(t.isDisposed).toBe(false);

    const kept: Tensor[] = [];
    const mine = new DataLoader(arrayDataset(ids(4)), {
      batchSize: 2,
      collate: (s) => tensor(s),
      disposeBatches: false,
    });
    for await (const b of mine) kept.push(b);
    expect(kept.map((t) => Array.from(t.dataSync()))).toEqual([
      [0, 1],
      [2, 3],
    ]);
    for (const t of [...kept, ...cached]) t.dispose();
  });

  it('batchStream owns its batches the same way', async () => {
    const before = memory();
    const seen: Tensor[] = [];
    for await (const b of batchStream(ids(7), { batchSize: 3, collate: (s) => tensor(s) })) {
      for (const t of seen) expect(t.isDisposed).toBe(true);
      seen.push(b);
    }
    expect(seen.map((t) => t.shape[0])).toEqual([3, 3, 1]);
    expect(memory().tensors).toBe(before.tensors);
    for await (const b of batchStream(ids(7), { batchSize: 3, collate: (s) => tensor(s) })) {
      seen.push(b);
      break;
    }
    expect(seen.at(-1)!.isDisposed).toBe(true);
    expect(memory().tensors).toBe(before.tensors);
  });

  it('rejects bad options', () => {
    expect(() => new DataLoader(arrayDataset([1]), { batchSize: 0, collate: (s) => s })).toThrow(/batchSize/);
  });
});

describe('worker pool + collate on VQA', () => {
  it('decodes off the main thread and collates padded ids, masks and images', async () => {
    const pool = new ImageDecodePool({ workers: 2 });
    try {
      const direct = await decodeImageFile(join(fixtures, 'vqa/val2014/COCO_val2014_000000000074.png'));
      const viaPool = await pool.decode(join(fixtures, 'vqa/val2014/COCO_val2014_000000000074.png'));
      expect(Array.from(viaPool.data)).toEqual(Array.from(direct.data));
      await expect(pool.decode(join(fixtures, 'vqa/val2014/COCO_val2014_000000000099.jpg'))).rejects.toThrow(
        /COCO_val2014_000000000099\.jpg/,
      );

      const { samples, report } = await readVqaV2({ root: join(fixtures, 'vqa'), split: 'val2014' });
      const tokenizer = WordPieceTokenizer.fromVocabText(
        readFileSync(join(fixtures, 'text/vocab.txt'), 'utf8'),
      );
      const processor = new ImageProcessor({ size: { height: 8, width: 8 } });
      const answers = AnswerVocab.build(samples.map((s) => s.multipleChoiceAnswer ?? ''));
      const ds = vqaDataset(samples, { tokenizer, processor, answers, pool, maxLength: 6, report });
      const loader = new DataLoader(ds, {
        batchSize: 4,
        report,
        collate: (s) => collate(s, { padId: tokenizer.padId }),
        // The batch is read after the loop: keep it (the loader would dispose it at the end).
        disposeBatches: false,
      });
      const [batch] = await all(loader);
      const inputIds = batch!.inputIds as import('@polymodal/tensor').Tensor;
      // "What color is the bus?" → what color is the [UNK] ? truncated to 6 → [CLS] what color is the [SEP]
      expect((inputIds.arraySync() as number[][])[0]).toEqual([2, 20, 21, 19, 16, 3]);
      // "Is there a dog?" → is there a [UNK] ? → 6 + 2 = 7 > 6 → [CLS] is there a [UNK] [SEP]
      expect(inputIds.shape).toEqual([4, 6]);
      expect((batch!.pixelValues as import('@polymodal/tensor').Tensor).shape).toEqual([4, 3, 8, 8]);
      expect((batch!.target as import('@polymodal/tensor').Tensor).shape).toEqual([4, answers.size]);
      expect(batch!.questionId).toBeDefined();
      // Every fixture question has ≥ 5 basic tokens (+2 specials > 6): all 4 are truncated and counted.
      expect(tokenizer.stats.truncated).toBe(4);
      // Answer vocab from the multiple-choice answers (red, no, 2, tree): of the 40 crowd answers,
      // Red→red normalises, so unknown are orange ×2, red and white, yes, 3, two, trees, bush = 8.
      expect(report.summary()).toBe('skipped 0 of 4; truncated 4 over-long texts; 8 answers mapped to [UNK]');
    } finally {
      await pool.close();
    }
  });
});
