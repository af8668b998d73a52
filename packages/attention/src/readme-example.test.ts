import { LayerNorm, PatchEmbedding } from '@polymodal/nn';
import { randn } from '@polymodal/tensor';
import { expect, it } from 'vitest';
import { CrossModalAttention, sinCos2dPositionalEncoding, TransformerEncoder } from './index.js';

it('the README example runs with the shapes it states', () => {
  const patches = new PatchEmbedding(32, 8, 64, { seed: 0 });
  const encoder = new TransformerEncoder(
    { dModel: 64, nHead: 4, dimFeedforward: 128, normFirst: true, seed: 1 },
    2,
    {
      norm: new LayerNorm(64),
    },
  );
  const image = encoder.forward(
    patches.forward(randn([2, 3, 32, 32])).add(sinCos2dPositionalEncoding(4, 4, 64)),
  );
  expect(image.shape).toEqual([2, 16, 64]);
  const text = randn([2, 7, 48]);
  const fuse = new CrossModalAttention(48, 64, { numHeads: 4, seed: 2 });
  const { output } = fuse.forward(text, image);
  expect(output.shape).toEqual([2, 7, 48]);
});
