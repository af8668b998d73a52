/**
 * The training run behind `fixtures/checkpoint-0.1`: a checkpoint written by the Trainer of
 * @polymodal/finetune 0.1 (commit 7cf9a4b, before the Trainer became a loop plus callbacks). The
 * same setup is built here for any Trainer class, so the test can resume the old checkpoint with
 * today's Trainer and compare with the losses the old one logged. To regenerate the fixture, run
 * `makeLegacyFixture` at that commit (see fixtures/checkpoint-0.1/README.md).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arrayDataset, collate, DataLoader } from '@polymodal/data';
import { Dropout, Linear, Module } from '@polymodal/nn';
import { manualSeed, setBackend, type Tensor } from '@polymodal/tensor';
import { AdamW } from '../src/optim/adam.js';
import { StepLR } from '../src/schedulers/step-lr.js';
import { ExponentialMovingAverage } from '../src/training/ema.js';

export const LEGACY_STEPS = 6;
export const LEGACY_CHECKPOINT_STEP = 3;

class Net extends Module {
  fc1 = this.registerModule('fc1', new Linear(4, 8, { seed: 21 }));
  drop = this.registerModule('drop', new Dropout(0.3, { seed: 22 }));
  fc2 = this.registerModule('fc2', new Linear(8, 2, { seed: 23 }));
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.drop.forward(this.fc1.forward(x).tanh()));
  }
}

interface Batch extends Record<string, unknown> {
  x: Tensor;
  y: Tensor;
}

/** Options for `new TrainerClass(...)`: AdamW, StepLR, a shuffling DataLoader, dropout, an EMA. */
export function legacyOptions(checkpointDir: string, losses: number[]) {
  setBackend('cpu');
  manualSeed(9);
  const model = new Net();
  const optimizer = new AdamW(model.parameters(), { lr: 0.02, weightDecay: 0.01 });
  const samples = Array.from({ length: 20 }, (_, i) => ({
    x: Float32Array.from({ length: 4 }, (_, k) => Math.sin(i * 0.9 + k)),
    y: Float32Array.from({ length: 2 }, (_, k) => Math.cos(i * 0.5 - k)),
  }));
  return {
    model,
    optimizer,
    scheduler: new StepLR(optimizer, { stepSize: 2, gamma: 0.5 }),
    ema: new ExponentialMovingAverage(model.parameters(), { decay: 0.9 }),
    computeLoss: (m: Module, b: Batch) => (m as Net).forward(b.x).sub(b.y).square().mean(),
    trainData: new DataLoader(arrayDataset(samples), {
      batchSize: 4,
      shuffle: true,
      seed: 1,
      collate,
    }) as never,
    maxSteps: LEGACY_STEPS,
    checkpointDir,
    checkpointEvery: LEGACY_CHECKPOINT_STEP,
    progress: 'none' as const,
    log: () => {},
    // 0.1 reported the loss in onStepEnd; today's Trainer in onLog. Either fills `losses`.
    callbacks: [
      {
        onStepEnd: (_t: unknown, logs: { loss?: number }) => {
          if (logs.loss !== undefined) losses.push(logs.loss);
        },
        onLog: (_t: unknown, logs: readonly { loss: number }[]) => {
          for (const l of logs) losses.push(l.loss);
        },
      },
    ],
  };
}

/** Writes the fixture with the Trainer class given (0.1's, at commit 7cf9a4b). */
export async function makeLegacyFixture(
  TrainerClass: new (options: never) => { train(): Promise<unknown> },
  fixtureDir: string,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'legacy-ckpt-'));
  const losses: number[] = [];
  await new TrainerClass(legacyOptions(dir, losses) as never).train();
  const name = `checkpoint-${String(LEGACY_CHECKPOINT_STEP).padStart(8, '0')}`;
  cpSync(join(dir, name), join(fixtureDir, name), { recursive: true });
  writeFileSync(join(fixtureDir, 'losses.json'), `${JSON.stringify(losses)}\n`);
  rmSync(dir, { recursive: true, force: true });
}
