import { memory, randn, scope, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { itmLoss, sampleHardNegatives } from './itm.js';
import { maskTokens, mlmLoss } from './mlm.js';
import { multiTaskLoss, uncertaintyWeightedLoss } from './multi-task.js';
import { answerCrossEntropyLoss, vqaLoss } from './vqa.js';

describe('memory', () => {
  it('every loss can be called in a loop without leaking tensors', () => {
    const logits = randn([2, 3, 5], { seed: 1 });
    const labels = tensor(
      [
        [1, -100, 4],
        [-100, 0, 2],
      ],
      { dtype: 'int32' },
    );
    const itmLogits = randn([3, 2], { seed: 2 });
    const itmY = tensor([1, 0, 0], { dtype: 'int32' });
    const sim = randn([3, 3], { seed: 3 });
    const vqaLogits = randn([2, 4], { seed: 4 });
    const soft = tensor([
      [0, 1, 1 / 3, 0],
      [2 / 3, 0, 0, 1],
    ]);
    const answers = tensor([3, 0], { dtype: 'int32' });
    const logVars = tensor([0.1, -0.1], { requiresGrad: true });
    const a = tensor(1.5);
    const b = tensor(0.5);
    const once = () =>
      scope(() => {
        mlmLoss(logits, labels).loss.item();
        maskTokens(new Int32Array([5, 6, 7, 8]), { vocabSize: 10, maskTokenId: 1, seed: 0 });
        itmLoss(itmLogits, itmY).loss.item();
        sampleHardNegatives(sim, sim, { seed: 0 });
        vqaLoss(vqaLogits, soft).loss.item();
        answerCrossEntropyLoss(vqaLogits, answers).loss.item();
        multiTaskLoss({ a, b }, { a: 1, b: 2 }).loss.item();
        uncertaintyWeightedLoss({ a, b }, logVars, ['a', 'b']).loss.backward();
        logVars.zeroGrad();
      });
    once();
    const before = memory().tensors;
    for (let i = 0; i < 3; i++) once();
    expect(memory().tensors).toBe(before);
    // The inputs survive the scopes they were passed into.
    expect(a.item()).toBe(1.5);
    expect(labels.shape).toEqual([2, 3]);
  });
});
