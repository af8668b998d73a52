import { ones, randn } from '@polymodal/tensor';
import { expect, it } from 'vitest';
import { EarlyFusion, fusionFromConfig } from './index.js';

it('the README example runs with the shapes it states', () => {
  const image = randn([2, 16, 64]);
  const text = randn([2, 7, 48]);
  const textMask = ones([2, 7], { dtype: 'bool' });
  const vilt = new EarlyFusion({ inputDims: { image: 64, text: 48 }, dModel: 32, numLayers: 2, seed: 0 });
  const { fused, sequence } = vilt.forward({ image, text }, { text: textMask });
  expect(fused.shape).toEqual([2, 32]);
  expect(sequence!.shape).toEqual([2, 24, 32]);
  const gated = fusionFromConfig({ type: 'gated', inputDims: { image: 64, text: 48 }, outputDim: 32 });
  expect(gated.forward({ image: image.mean(1), text: text.mean(1) }).weights!.shape).toEqual([2, 2, 32]);
});
