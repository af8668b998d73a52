import { tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import * as losses from './index.js';

// Every loss function is named after its module (`xLoss` ↔ `XLoss`); the old names stay as
// deprecated aliases of the very same functions, so existing code keeps working unchanged.
describe('loss names', () => {
  it('each module has a function of the matching name', () => {
    const pairs = [
      ['contrastiveLoss', 'ContrastiveLoss'],
      ['itmLoss', 'ItmLoss'],
      ['mlmLoss', 'MlmLoss'],
      ['sigLipLoss', 'SigLipLoss'],
      ['vqaLoss', 'VqaLoss'],
      ['answerCrossEntropyLoss', 'AnswerCrossEntropyLoss'],
      ['multiTaskLoss', 'MultiTaskLoss'],
      ['uncertaintyWeightedLoss', 'UncertaintyWeightedLoss'],
    ] as const;
    const exported: Record<string, unknown> = { ...losses };
    for (const [fn, cls] of pairs) {
      expect(typeof exported[fn], fn).toBe('function');
      expect(typeof exported[cls], cls).toBe('function');
      expect(cls.charAt(0).toLowerCase() + cls.slice(1)).toBe(fn);
    }
  });

  it('answerCrossEntropyLoss returns its named output type', () => {
    const out: losses.AnswerCrossEntropyLossOutput = losses.answerCrossEntropyLoss(
      tensor([
        [0, 0],
        [0, 0],
      ]),
      tensor(new Int32Array([0, 1])),
    );
    // Uniform logits over 2 answers: −log ½ = ln 2 (hand-worked).
    expect(out.loss.item()).toBeCloseTo(Math.log(2), 6);
    expect(out.labels.shape).toEqual([2]);
  });

  it('the deprecated names are the same functions', () => {
    expect(losses.sigmoidLoss).toBe(losses.sigLipLoss);
    expect(losses.weightedLossSum).toBe(losses.multiTaskLoss);
    expect(losses.uncertaintyWeightedLossSum).toBe(losses.uncertaintyWeightedLoss);
    expect(losses.answerCrossEntropy).toBe(losses.answerCrossEntropyLoss);
  });
});
