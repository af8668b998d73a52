/**
 * A training step must not wait for the device: the Trainer reads the losses back once per log
 * period (and the eval losses once per evaluation), never per step. Checked on a backend that
 * reads back like WebGPU (`registerNoSyncBackend`: a synchronous read throws, async reads are
 * counted), against the same run on the cpu backend.
 */
import { Linear } from '@polymodal/nn';
import { registerNoSyncBackend, setBackend, type Tensor, tensor, withAnomalyMode } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { SGD } from '../optim/sgd.js';
import { Trainer } from './trainer.js';
import type { StepLogs } from './trainer-types.js';

interface Batch {
  x: Tensor;
  y: Tensor;
}

const device = registerNoSyncBackend('trainer-no-sync');
afterAll(() => setBackend('cpu'));

function batches(n: number, offset = 0): Batch[] {
  return Array.from({ length: n }, (_, b) => {
    const rows = [0, 1].map((r) => [Math.sin(b + offset + r), Math.cos(2 * b + r), (b + r + offset) / 4]);
    return { x: tensor(rows), y: tensor(rows.map((v) => [v[0]! - 2 * v[1]! + 0.5 * v[2]! + 0.3])) };
  });
}

/** 12 steps, accumulation 2, clipping, two named losses, an eval every 6 steps; reads counted. */
async function run(backend: string, detectAnomaly?: boolean) {
  setBackend(backend);
  const model = new Linear(3, 1, { seed: 4 });
  let logCalls = 0;
  const trainer = new Trainer({
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }),
    computeLoss: (m, b: Batch) => {
      const d = m.forward(b.x).sub(b.y);
      return { mse: d.square().mean(), l1: d.abs().mean() };
    },
    lossWeights: { l1: 0.5 },
    trainData: batches(8),
    evalData: batches(2, 10),
    evalEvery: 6,
    maxSteps: 12,
    gradientAccumulationSteps: 2,
    maxGradNorm: 0.5,
    logEvery: 4,
    progress: 'none',
    log: () => {},
    ...(detectAnomaly === undefined ? {} : { detectAnomaly }),
    callbacks: [{ onLog: () => void logCalls++ }],
  });
  device.resetReads();
  const result = await trainer.train();
  return { result, logCalls, reads: device.reads };
}

describe('the Trainer on a backend without synchronous reads', () => {
  it('trains, clips and evaluates with one read per log period and per evaluation', async () => {
    const cpu = await run('cpu');
    const gpu = await run(device.name); // any dataSync()/item() would throw here
    // Reads: steps 1–4, 5–6 (before the eval at 6), 7–8, 9–12 (before the eval at 12): 4 log
    // reads; 2 evaluations of 2 batches, one read each.
    expect(gpu.logCalls).toBe(4);
    expect(gpu.reads).toBe(gpu.logCalls + 2);
    // The same kernels behind both backends: the same numbers.
    const values = (h: StepLogs[]) => h.map((l) => [l.step, l.loss, l.losses.mse, l.losses.l1, l.gradNorm]);
    expect(values(gpu.result.history.train)).toEqual(values(cpu.result.history.train));
    expect(gpu.result.history.eval).toEqual(cpu.result.history.eval);
    expect(gpu.result.history.train).toHaveLength(12);
    expect(gpu.result.history.train.every((l) => l.gradNorm! > 0)).toBe(true);
    // detectAnomaly reads each micro-batch's loss: not possible here, so it is skipped, not fatal.
    expect((await run(device.name, true)).reads).toBe(6);
    // In anomaly mode on a readable backend it is on by default: still the same numbers.
    setBackend('cpu');
    const checked = await withAnomalyMode(() => run('cpu'));
    expect(values(checked.result.history.train)).toEqual(values(cpu.result.history.train));
  });
});

describe('a NaN loss', () => {
  const nanAt = (n: number) => {
    let calls = 0;
    return (m: Linear, b: Batch) => {
      const loss = m.forward(b.x).sub(b.y).square().mean();
      return ++calls === n ? loss.mul(Number.NaN) : loss;
    };
  };

  it('is caught when its log period is read, naming its step; detectAnomaly stops it before the update', async () => {
    setBackend('cpu');
    const make = (detectAnomaly: boolean) => {
      const model = new Linear(3, 1, { seed: 4 });
      return {
        model,
        trainer: new Trainer({
          model,
          optimizer: new SGD(model.parameters(), { lr: 0.1 }),
          computeLoss: nanAt(3),
          trainData: batches(8),
          maxSteps: 8,
          logEvery: 4,
          progress: 'none',
          detectAnomaly,
        }),
      };
    };
    const lazy = make(false);
    await expect(lazy.trainer.train()).rejects.toThrow(/loss is NaN at step 3/);
    // Found at the read after step 4: the NaN step's update reached the weights.
    expect(Array.from(lazy.model.weight.dataSync()).some(Number.isNaN)).toBe(true);
    const eager = make(true);
    await expect(eager.trainer.train()).rejects.toThrow(/loss is NaN at step 3 \(\{"loss":null\}\)/);
    expect(Array.from(eager.model.weight.dataSync()).every(Number.isFinite)).toBe(true);
    expect(eager.trainer.state.step).toBe(2);
  });
});
