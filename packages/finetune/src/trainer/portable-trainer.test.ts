/**
 * The Trainer of the main entry runs without a file system (browser, worker): file-system
 * shorthands are refused naming `@polymodal/finetune/node`, checkpoints go to a given `store` and
 * resume from it, and progress can go to a function. The Node Trainer adds the shorthands.
 */
import { Linear } from '@polymodal/nn';
import { ArgumentError, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { SGD } from '../optim/sgd.js';
import type { CheckpointStorage, LoadedCheckpoint } from './checkpoint-storage.js';
import { Trainer as NodeTrainer } from './node-trainer.js';
import { createProgress, type ProgressUpdate } from './progress.js';
import { Trainer, type TrainerOptions } from './trainer.js';

interface Batch {
  x: Tensor;
  y: Tensor;
}

const batches = (n: number): Batch[] =>
  Array.from({ length: n }, (_, b) => ({ x: tensor([[b / 4, 1 - b / 8]]), y: tensor([[b / 2]]) }));

function options(extra: Partial<TrainerOptions<Batch, Linear>> = {}): TrainerOptions<Batch, Linear> {
  const model = new Linear(2, 1, { seed: 3 });
  return {
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.05 }),
    computeLoss: (m, b) => m.forward(b.x).sub(b.y).square().mean(),
    trainData: batches(6),
    maxSteps: 6,
    logEvery: 2,
    log: () => {},
    ...extra,
  };
}

/** Checkpoints in memory, as a browser app would keep them in IndexedDB. */
function memoryStore(): CheckpointStorage & { saved: Map<number, Record<string, Uint8Array>> } {
  const saved = new Map<number, Record<string, Uint8Array>>();
  return {
    saved,
    save: async (step, files) => {
      saved.set(step, files);
      return `memory:${step}`;
    },
    loadLatest: async (): Promise<LoadedCheckpoint | null> => {
      const step = Math.max(-1, ...saved.keys());
      return step < 0 ? null : { step, path: `memory:${step}`, files: saved.get(step)! };
    },
  };
}

describe('the portable Trainer', () => {
  it('refuses checkpointDir and outputDir, naming the Node entry', () => {
    expect(() => new Trainer(options({ checkpointDir: 'ckpt' }))).toThrow(ArgumentError);
    expect(() => new Trainer(options({ checkpointDir: 'ckpt' }))).toThrow(/@polymodal\/finetune\/node/);
    expect(() => new Trainer(options({ outputDir: 'out' }))).toThrow(/outputDir writes files/);
    expect(() => new NodeTrainer(options({ progress: 'none', outputDir: 'out' }))).not.toThrow();
  });

  it('checkpoints into a given store and resumes from it to the same weights as a straight run', async () => {
    const straight = new Trainer(options({ progress: 'none' }));
    await straight.train();
    const store = memoryStore();
    const first = new Trainer(options({ progress: 'none', store, checkpointEvery: 3, maxSteps: 3 }));
    await first.train();
    expect([...store.saved.keys()]).toEqual([3]);
    const second = new Trainer(options({ progress: 'none', store, checkpointEvery: 3 }));
    await second.train({ resume: true });
    expect(second.resumedFrom).toBe(3);
    expect(Array.from(second.model.weight.dataSync())).toEqual(Array.from(straight.model.weight.dataSync()));
  });

  it('sends progress to a function: every step, then the values of each log period once they are read', async () => {
    const updates: ProgressUpdate[] = [];
    await new Trainer(options({ progress: (u) => updates.push(u) })).train();
    const steps = updates.filter((u) => u.step > 0);
    // logEvery 2: steps 1, 2 move the bar, then one read brings the losses of 1 and 2, and so on.
    expect(steps.map((u) => `${u.step}${u.values ? '+' : ''}`)).toEqual([
      '1',
      '2',
      '1+',
      '2+',
      '3',
      '4',
      '3+',
      '4+',
      '5',
      '6',
      '5+',
      '6+',
    ]);
    expect(steps.every((u) => u.total === 6)).toBe(true);
    expect(steps.find((u) => u.values)!.values!['loss']).toBeGreaterThan(0);
  });

  it("createProgress refuses 'bar' outside the Node entry", () => {
    expect(() => createProgress('bar', 10, () => {})).toThrow(/@polymodal\/finetune\/node/);
  });
});
