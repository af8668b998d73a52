import { listFusions } from '@polymodal/fusion';
import { randn, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { VqaModel, type VqaModelConfig } from './vqa-model.js';

/** The app's model at its default sizes, on a 32 px image (4×4 cells) to keep the test quick. */
const configFor = (type: string): VqaModelConfig => ({
  imageSize: 32,
  ...DEFAULT_CONFIG.model,
  fusion: { type },
  vocabSize: 20,
  padId: 0,
  maxTextLength: 8,
  numAnswers: 5,
  seed: 3,
});

describe('VqaModel', () => {
  // `--fusion <name>` promises every registered strategy: each must build with the app's defaults,
  // answer, and pass gradient back to both the image stem and the text encoder.
  it.each(listFusions())('builds with --fusion %s, answers and trains both encoders', (type) => {
    const model = new VqaModel(configFor(type));
    const pixels = randn([2, 3, 32, 32], { seed: 1 });
    const ids = tensor(
      [
        [2, 5, 6, 7, 3, 0],
        [2, 8, 9, 3, 0, 0],
      ],
      { dtype: 'int32' },
    );
    const mask = ids.ne(0);
    const { logits } = model.forward(pixels, ids, mask);
    expect(logits.shape).toEqual([2, 5]);
    expect([...logits.dataSync()].every(Number.isFinite)).toBe(true);
    logits.square().sum().backward();
    const gradNorm = (prefix: string) =>
      model
        .namedParameters()
        .filter(([n]) => n.startsWith(prefix))
        .reduce((s, [, p]) => s + (p.grad ? p.grad.square().sum().item() : 0), 0);
    expect(gradNorm('image.')).toBeGreaterThan(0);
    expect(gradNorm('text.')).toBeGreaterThan(0);
  });
});
