/**
 * Issue 16, item 6: resuming must be exact with dropout on, with no list of generators to keep up
 * to date. A run trains N steps and checkpoints, then M more; a fresh process-like setup (new
 * model, optimizer, loader, trainer) resumes from the step-N checkpoint and trains the same M
 * steps: the losses must match step for step, bit for bit.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arrayDataset, collate, DataLoader } from '@polymodal/data';
import { Dropout, Linear, MLP, Module } from '@polymodal/nn';
import { crossEntropy, manualSeed, setBackend, type Tensor } from '@polymodal/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from '../src/optim/adam.js';
import { getScheduler } from '../src/schedulers/get-scheduler.js';
import { Trainer } from '../src/trainer/node-trainer.js';

const root = mkdtempSync(join(tmpdir(), 'finetune-exact-resume-'));
beforeAll(() => setBackend('cpu'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Two dropout sources with their own seeded generators (as attention layers have), neither the default one. */
class Net extends Module {
  inputDrop = this.registerModule('inputDrop', new Dropout(0.3, { seed: 11 }));
  body = this.registerModule('body', new MLP(6, [16, 16], { dropout: 0.3, seed: 12, activation: 'gelu' }));
  head = this.registerModule('head', new Linear(16, 3, { seed: 13 }));
  forward(x: Tensor): Tensor {
    return this.head.forward(this.body.forward(this.inputDrop.forward(x)));
  }
}

const N = 7;
const M = 9;

function setup(checkpointDir: string, losses: number[]) {
  manualSeed(5);
  const model = new Net();
  const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
  const data = Array.from({ length: 40 }, (_, i) => ({
    x: Float32Array.from({ length: 6 }, (_, k) => Math.cos(i * 1.3 + k * 0.4)),
    y: i % 3,
  }));
  return new Trainer({
    model,
    optimizer,
    scheduler: getScheduler('linear', optimizer, { numWarmupSteps: 2, numTrainingSteps: N + M }),
    computeLoss: (m, b) => {
      const { x, y } = b as { x: Tensor; y: Tensor };
      return crossEntropy((m as Net).forward(x), y);
    },
    trainData: new DataLoader(arrayDataset(data), { batchSize: 6, shuffle: true, seed: 3, collate }),
    maxSteps: N + M,
    checkpointDir,
    checkpointEvery: N,
    keepLast: 5,
    progress: 'none',
    log: () => {},
    callbacks: [{ onLog: (_t, logs) => void losses.push(...logs.map((l) => l.loss)) }],
  });
}

describe('exact resume with dropout on', () => {
  it('a resumed run repeats the uninterrupted run loss for loss; every model generator is found by name', async () => {
    const straight: number[] = [];
    const dirA = join(root, 'a');
    const a = setup(dirA, straight);
    // The Trainer saves the model's generators without being told: both, by dotted name.
    expect(a.options.model.namedGenerators().map(([n]) => n)).toEqual([
      'inputDrop.generator',
      'body.2.generator',
    ]);
    await a.train();
    expect(straight).toHaveLength(N + M);

    // Only the step-N checkpoint, as after a crash between N and N + M.
    const dirB = join(root, 'b');
    cpSync(
      join(dirA, `checkpoint-${String(N).padStart(8, '0')}`),
      join(dirB, `checkpoint-${String(N).padStart(8, '0')}`),
      {
        recursive: true,
      },
    );
    const resumed: number[] = [];
    const b = setup(dirB, resumed);
    const result = await b.train({ resume: true });
    expect(result.resumedFrom).toBe(N);
    expect(resumed).toHaveLength(M);
    expect(resumed).toEqual(straight.slice(N));
  });
});
