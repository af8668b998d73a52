import { randn } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { ContrastiveLoss, retrievalMetrics, vqaAccuracy } from './index.js';

describe('README example', () => {
  it('runs as written through the public index', () => {
    const itc = new ContrastiveLoss();
    const imageEmbeds = randn([8, 256], { seed: 1 });
    const textEmbeds = randn([8, 256], { seed: 2 });
    const { loss, logitsPerImage } = itc.forward(imageEmbeds, textEmbeds);
    loss.backward();
    expect(itc.logitScale.grad).not.toBeNull();
    const sim = logitsPerImage.arraySync() as number[][];
    const { rSum } = retrievalMetrics(sim, [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rSum).toBeGreaterThan(0);
    expect(rSum).toBeLessThanOrEqual(600);
    expect(vqaAccuracy('Two', ['2', '2', '2', '3', '3', '3', '3', '3', '3', '3'])).toBeCloseTo(0.9, 12);
  });
});
