import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { memory } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { QUICK_CONFIG } from '../src/config.js';
import { VqaModel } from '../src/model/vqa-model.js';
import { modelConfigOf, prepareData } from '../src/pipeline.js';
import { finetune } from '../src/training/finetune.js';
import { FIXTURE, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fine-tuning memory', () => {
  it('live tensors and bytes stay flat from step to step, evaluation included', async () => {
    const data = await prepareData(
      { train: { root: FIXTURE, split: 'train2014' }, val: { root: FIXTURE, split: 'val2014' } },
      16,
      () => {},
    );
    const config = structuredClone(QUICK_CONFIG);
    config.data.imageSize = 16;
    const model = new VqaModel(modelConfigOf(config, data.vocab));
    const seen = new Map<number, { tensors: number; bytes: number }>();
    await finetune(
      model,
      data.train,
      data.val,
      data.vocab.answers.answers,
      data.vocab.tokenizer.padId,
      {
        ...config.finetune,
        steps: 60,
        imagesPerBatch: 2,
        questionsPerImage: 2,
        evalEvery: 10,
        checkpointEvery: 20,
        seed: 1,
        resume: false,
        progress: 'none',
        onStep: (step) => {
          const m = memory();
          seen.set(step, { tensors: m.tensors, bytes: m.bytes });
        },
      },
      join(dir, 'run'),
      () => {},
    );
    // The Trainer reads losses back every 10 steps, so compare steps at the same point of that
    // period, after the first period (optimizer state and buffers made once).
    for (const phase of [1, 5, 10])
      for (const step of [20 + phase, 30 + phase, 40 + phase])
        expect(seen.get(step), `step ${step} vs ${10 + phase}`).toEqual(seen.get(10 + phase));
  }, 120_000);
});
