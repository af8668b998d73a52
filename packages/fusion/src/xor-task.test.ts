/**
 * Every strategy must fuse: it learns label = a XOR b, where bit a is carried only by `image` and
 * bit b only by `text` (noisy features; see test/xor-task.ts), to ≥ 0.9 held-out accuracy, while
 * the same trained model given one modality alone — the other's rows shuffled, so its bit no longer
 * belongs to the sample — stays near chance (≤ 0.65). A small MLP head (Linear → ReLU → Linear)
 * sits on top of `fused` for every feature strategy: sum/concat/attention fusions are additive, so
 * one linear read-out cannot express XOR; the head is the same for all, so the comparison is fair.
 * Decision-level fusion is tested on its own terms below.
 */
import { noGrad, scope } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { STRATEGIES } from '../test/strategies.js';
import { accuracy, Classifier, makeXorData, train } from '../test/xor-task.js';
import { DecisionFusion } from './index.js';

const dims = { image: 4, text: 3 };

describe.each(STRATEGIES.filter((s) => s.name !== 'decision'))(
  '$name learns XOR across modalities',
  (spec) => {
    it('≥ 0.9 with both modalities, ≤ 0.65 with either one alone', () => {
      const seqLen = spec.sequence ? 2 : undefined;
      const trainSet = makeXorData({ n: spec.sequence ? 64 : 128, dims, seqLen, seed: 1 });
      const testSet = makeXorData({ n: 256, dims, seqLen, seed: 2 });
      const model = new Classifier(spec.build(dims, 0, 2), true, 100);
      const loss = train(model, trainSet, spec.sequence ? 60 : 100, 0.02);
      expect(loss).toBeLessThan(0.3);
      expect(accuracy(model, testSet)).toBeGreaterThanOrEqual(0.9);
      expect(accuracy(model, testSet, 'text')).toBeLessThanOrEqual(0.65);
      expect(accuracy(model, testSet, 'image')).toBeLessThanOrEqual(0.65);
    });
  },
);

describe('decision fusion', () => {
  it('cannot learn XOR (modalities only meet after deciding): stays near chance', () => {
    const trainSet = makeXorData({ n: 128, dims, seed: 1 });
    const testSet = makeXorData({ n: 256, dims, seed: 2 });
    const fusion = new DecisionFusion({
      inputDims: dims,
      numClasses: 2,
      hiddenDim: 8,
      combine: 'mean',
      seed: 0,
    });
    const model = new Classifier(fusion, false, 0);
    train(model, trainSet, 100, 0.02);
    expect(accuracy(model, trainSet)).toBeLessThanOrEqual(0.7);
    expect(accuracy(model, testSet)).toBeLessThanOrEqual(0.65);
  });

  // Both modalities carry the same bit under heavy noise (σ = 2.5 on 4 dims): the Bayes accuracy
  // of one modality is Φ(√4/2.5) ≈ 0.79, of both together Φ(√8/2.5) ≈ 0.87. Fusing decisions must beat
  // every single modality's own head.
  it.each(['mean', 'weighted', 'productOfExperts'] as const)(
    '%s: fusing redundant noisy evidence beats each modality alone',
    (combine) => {
      const rdims = { image: 4, text: 4 };
      const trainSet = makeXorData({ n: 256, dims: rdims, noise: 2.5, task: 'same', seed: 3 });
      const testSet = makeXorData({ n: 1000, dims: rdims, noise: 2.5, task: 'same', seed: 4 });
      const fusion = new DecisionFusion({ inputDims: rdims, numClasses: 2, hiddenDim: 8, combine, seed: 0 });
      const model = new Classifier(fusion, false, 0);
      train(model, trainSet, 80, 0.02);
      const fusedAccuracy = accuracy(model, testSet);
      const single = noGrad(() =>
        scope(() => {
          const { decisions } = fusion.forward(testSet.inputs);
          return Object.values(decisions!).map((d) => d.argmax(-1).eq(testSet.labels).float().mean().item());
        }),
      );
      // Learned mixture weights drift towards the stronger head, so 'weighted' gains less.
      const margin = combine === 'weighted' ? 0.015 : 0.04;
      expect(fusedAccuracy).toBeGreaterThanOrEqual(0.8);
      for (const acc of single) {
        expect(acc).toBeLessThan(0.81);
        expect(fusedAccuracy).toBeGreaterThanOrEqual(acc + margin);
      }
    },
  );
});
