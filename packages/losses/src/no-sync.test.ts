/**
 * A loss in a training step must not read values back to the host: on a GPU each read is a device
 * sync, and on WebGPU a synchronous read is impossible. These run every loss on a backend that
 * reads back like WebGPU (`registerNoSyncBackend`: `dataSync()` throws, async reads are counted)
 * and compare the values with the cpu backend's.
 */
import {
  BackendError,
  randn,
  registerNoSyncBackend,
  setBackend,
  type Tensor,
  tensor,
  withAnomalyMode,
} from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { contrastiveLoss } from './contrastive.js';
import { itmLoss, sampleHardNegatives } from './itm.js';
import { mlmLoss } from './mlm.js';
import { multiTaskLoss, uncertaintyWeightedLoss } from './multi-task.js';
import { sigLipLoss } from './sigmoid.js';
import { answerCrossEntropyLoss, vqaLoss } from './vqa.js';

const device = registerNoSyncBackend('losses-no-sync');
afterAll(() => setBackend('cpu'));

/** Every loss of the package on one small batch; returns the losses (gradients run too). */
function everyLoss(): Record<string, Tensor> {
  const emb = (seed: number) => randn([4, 6], { seed, requiresGrad: true });
  const logitScale = tensor(Math.log(1 / 0.07), { requiresGrad: true });
  const duplicates = tensor([0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], {
    shape: [4, 4],
    dtype: 'bool',
  });
  const logits = randn([2, 3, 5], { seed: 3, requiresGrad: true });
  const labels = tensor([1, -100, 4, -100, 0, 2], { shape: [2, 3], dtype: 'int32' });
  const soft = tensor([0, 1, 1 / 3, 0, 2 / 3, 0, 0, 1], { shape: [2, 4] });
  const answers = randn([2, 4], { seed: 4, requiresGrad: true });
  const out: Record<string, Tensor> = {
    contrastive: contrastiveLoss(emb(1), emb(2), {
      logitScale,
      duplicateMask: duplicates,
      labelSmoothing: 0.1,
    }).loss,
    sigmoid: sigLipLoss(emb(5), emb(6), { logitScale: Math.log(10), logitBias: tensor(-10) }).loss,
    mlm: mlmLoss(logits, labels).loss,
    itm: itmLoss(randn([3, 2], { seed: 7, requiresGrad: true }), tensor([1, 0, 0], { dtype: 'int32' })).loss,
    vqa: vqaLoss(answers, soft).loss,
    answerCe: answerCrossEntropyLoss(answers, tensor([3, 0], { dtype: 'int32' })).loss,
  };
  out.weighted = multiTaskLoss({ a: out.mlm!, b: out.itm! }, { a: 1, b: 0.5 }).loss;
  out.uncertainty = uncertaintyWeightedLoss(
    { a: out.vqa!, b: out.sigmoid! },
    tensor([0.1, -0.2], { requiresGrad: true }),
    ['a', 'b'],
  ).loss;
  for (const l of Object.values(out)) l.backward();
  return out;
}

describe('losses on a backend without synchronous reads (like WebGPU)', () => {
  it('compute, backpropagate and read nothing back; the values match the cpu backend', async () => {
    setBackend('cpu');
    const want = Object.fromEntries(Object.entries(everyLoss()).map(([k, t]) => [k, t.item()]));
    setBackend(device.name);
    device.resetReads();
    const got = everyLoss(); // would throw a BackendError on any dataSync()/item()
    expect(device.reads).toBe(0);
    for (const [name, t] of Object.entries(got)) expect((await t.data())[0], name).toBe(want[name]);
    // Anomaly mode's value checks need a synchronous read: skipped here, as the engine's are.
    device.resetReads();
    withAnomalyMode(() => everyLoss());
    expect(device.reads).toBe(0);
  });

  it('mlmLoss counts masked tokens only when asked; hard negatives need the values (a typed error)', () => {
    setBackend(device.name);
    const labels = tensor([1, -100, 4], { dtype: 'int32' });
    const out = mlmLoss(randn([3, 5], { seed: 1 }), labels);
    expect(Object.keys(out)).toEqual(['loss']); // the lazy count is not enumerable: scope skips it
    expect(() => out.numMaskedTokens).toThrow(BackendError); // a sync read, as on WebGPU
    setBackend('cpu');
    const onCpu = mlmLoss(randn([3, 5], { seed: 1 }), tensor([1, -100, 4], { dtype: 'int32' }));
    expect(onCpu.numMaskedTokens).toBe(2);
    setBackend(device.name);
    const sim = randn([3, 3], { seed: 2 });
    expect(() => sampleHardNegatives(sim, sim, { seed: 0 })).toThrow(BackendError);
  });
});
