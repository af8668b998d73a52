/**
 * Issue 16, item 1: the README pattern (`new DataLoader(…, { collate })` → `Trainer`) must not leak
 * a batch per step. Live tensors and bytes are read after every optimizer step; after warm-up (the
 * optimizer's lazily created state) they must not move, on cpu and on wasm.
 */
import { arrayDataset, collate, DataLoader } from '@polymodal/data';
import { MLP, type Module } from '@polymodal/nn';
import { ArgumentError, crossEntropy, memory, setBackend, type Tensor, tensorsIn } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { AdamW } from '../src/optim/adam.js';
import { SGD } from '../src/optim/sgd.js';
import { getScheduler } from '../src/schedulers/get-scheduler.js';
import { Trainer } from '../src/trainer/node-trainer.js';

afterAll(() => setBackend('cpu'));

interface Sample extends Record<string, unknown> {
  features: Float32Array;
  inputIds: number[];
  label: number;
}

/**
 * 64 samples: 8 features, a ragged token list (padded by `collate`, with an attention mask: fields
 * the model never reads must be freed too) and a class.
 */
function samples(): Sample[] {
  return Array.from({ length: 64 }, (_, i) => ({
    features: Float32Array.from({ length: 8 }, (_, k) => Math.sin(i * 0.7 + k)),
    inputIds: Array.from({ length: 1 + (i % 6) }, (_, k) => k + 1),
    label: i % 3,
  }));
}

/** Bytes of the tensors of one batch (shuffled ragged batches differ in padded length). */
const batchBytes = (b: unknown) =>
  tensorsIn(b).reduce((n, t) => n + t.size * (t.dtype === 'bool' ? 1 : 4), 0);

const batchOf = (b: Record<string, unknown>) => b as { features: Tensor; label: Tensor };

function readme(backend: string, steps: number) {
  setBackend(backend);
  const model = new MLP(8, [16, 3], { dropout: 0.1, seed: 1 });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  const loader = new DataLoader(arrayDataset(samples()), {
    batchSize: 8,
    shuffle: true,
    seed: 0,
    collate: (items) => collate(items, { padId: 0 }),
  });
  const evalLoader = new DataLoader(arrayDataset(samples().slice(0, 16)), { batchSize: 8, collate });
  const live: { tensors: number; bytes: number }[] = [];
  let inHand = 0;
  const trainer = new Trainer({
    model,
    optimizer,
    scheduler: getScheduler('cosine', optimizer, { numWarmupSteps: 10, numTrainingSteps: steps }),
    computeLoss: (m: Module, b) => {
      inHand = batchBytes(b);
      return crossEntropy((m as MLP).forward(batchOf(b).features), batchOf(b).label);
    },
    computeMetrics: (m: Module, b) => ({
      accuracy: (m as MLP).forward(batchOf(b).features).argmax(-1).eq(batchOf(b).label).float().mean().item(),
    }),
    trainData: loader,
    evalData: evalLoader,
    evalEvery: 250,
    maxSteps: steps,
    maxGradNorm: 1,
    progress: 'none',
    callbacks: [
      {
        onStepEnd: () => {
          const m = memory();
          // The step's batch is still in hand here (freed after the step): count the rest.
          live.push({ tensors: m.tensors, bytes: m.bytes - inHand });
        },
      },
    ],
  });
  return { trainer, live, model, optimizer };
}

describe('the README training pattern keeps memory flat', () => {
  for (const backend of ['cpu', 'wasm']) {
    // About 5 s each on an idle core; the timeout leaves room for a loaded CI machine.
    it(`1,000 steps of DataLoader + collate → Trainer on ${backend}: live tensors and bytes flat after warm-up`, {
      timeout: 600_000,
    }, async () => {
      const before = memory();
      const { trainer, live, model } = readme(backend, 1000);
      const result = await trainer.train();
      expect(result.state.step).toBe(1000);
      expect(live).toHaveLength(1000);
      const warm = live.slice(10);
      // Before the fix: +3 tensors (features, inputIds, attentionMask, label …) every step.
      expect(
        new Set(warm.map((m) => m.tensors)).size,
        `tensors ${warm[0]!.tensors}…${warm.at(-1)!.tensors}`,
      ).toBe(1);
      expect(new Set(warm.map((m) => m.bytes)).size, `bytes ${warm[0]!.bytes}…${warm.at(-1)!.bytes}`).toBe(1);
      // After training nothing of the batches is left: only the model and the optimizer's state.
      const params = model.parameters();
      const paramTensors = params.length;
      const adamState = 2 * params.length; // exp_avg, exp_avg_sq per parameter
      expect(memory().tensors - before.tensors).toBe(paramTensors + adamState);
      model.dispose();
    });
  }

  it('a NaN loss stops training with an error and leaves neither the step nor the batch allocated', async () => {
    setBackend('cpu');
    const model = new MLP(8, [4, 3], { seed: 2 });
    const optimizer = new SGD(model.parameters(), { lr: 0.1 }); // no state: memory is only the model
    const before = memory();
    let step = 0;
    const trainer = new Trainer({
      model,
      optimizer,
      computeLoss: (m: Module, b) => {
        const loss = crossEntropy((m as MLP).forward(batchOf(b).features), batchOf(b).label);
        return ++step === 3 ? loss.mul(Number.NaN) : loss;
      },
      trainData: new DataLoader(arrayDataset(samples()), { batchSize: 8, collate }),
      maxSteps: 10,
      progress: 'none',
    });
    const error = await trainer.train().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as Error).message).toMatch(/loss is NaN at step 3/);
    for (const p of model.parameters()) p.zeroGrad();
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().bytes).toBe(before.bytes);
    model.dispose();
  });

  it('an array of batches the user made stays the user’s; batches a generator makes are freed', async () => {
    setBackend('cpu');
    const model = new MLP(8, [3], { seed: 3 });
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const mine = [collate(samples().slice(0, 8)), collate(samples().slice(8, 16))];
    const computeLoss = (m: Module, b: Record<string, unknown>) =>
      crossEntropy((m as MLP).forward(batchOf(b).features), batchOf(b).label);
    await new Trainer({
      model,
      optimizer,
      computeLoss,
      trainData: mine,
      maxEpochs: 3,
      progress: 'none',
    }).train();
    for (const b of mine) for (const t of Object.values(b) as Tensor[]) expect(t.isDisposed).toBe(false);

    const before = memory();
    const made = {
      *[Symbol.iterator]() {
        for (let i = 0; i < 4; i++) yield collate(samples().slice(8 * i, 8 * i + 8));
      },
    };
    await new Trainer({
      model,
      optimizer,
      computeLoss,
      trainData: made,
      maxEpochs: 5,
      progress: 'none',
    }).train();
    for (const p of model.parameters()) p.zeroGrad();
    expect(memory().tensors).toBe(before.tensors);
    for (const b of mine) for (const t of Object.values(b) as Tensor[]) t.dispose();
    model.dispose();
  });
});
