import { Linear } from '@polymodal/nn';
import { ArgumentError, cat, randn, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  ConcatFusion,
  EarlyFusion,
  HierarchicalFusion,
  IntermediateFusion,
  LateFusion,
  maskedMean,
  SelfAttentionFusion,
} from './index.js';

const values = (t: Tensor): number[] => Array.from(t.dataSync());
const expectClose = (got: number[], want: number[], digits = 4) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits));
};
const maxDiff = (a: Tensor, b: Tensor) => Math.max(...values(a).map((v, i) => Math.abs(v - values(b)[i]!)));

const dims = { image: 4, text: 3 };
const image = randn([2, 3, 4], { seed: 1 });
const text = randn([2, 2, 3], { seed: 2 });
const otherText = randn([2, 2, 3], { seed: 3 });
// Sample 0 has one real text token, sample 1 two; padded values are garbage on purpose.
const textMask = tensor(
  [
    [true, false],
    [true, true],
  ],
  { dtype: 'bool' },
);
const tiny = { dModel: 8, numHeads: 2, numLayers: 1, dimFeedforward: 16, dropout: 0, seed: 0 };

describe('EarlyFusion (ViLT single stream)', () => {
  it('[CLS] pooling: joint sequence 1 + ΣL, fused = its first token', () => {
    const f = new EarlyFusion({ inputDims: dims, ...tiny, maxPositions: 3 });
    const { fused, sequence, mask } = f.forward({ image, text }, { text: textMask });
    expect(sequence!.shape).toEqual([2, 6, 8]);
    expect(values(mask!)).toEqual([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]); // [CLS], 3 image, 2 text
    expectClose(values(fused), values(sequence!.narrow(1, 0, 1).squeeze(1)), 6);
    expect(() => f.forward({ image: randn([2, 4, 4]), text })).toThrow(/maxPositions 3/);
  });

  it('mean pooling: no [CLS], fused = masked mean; the modality embedding tells modalities apart', () => {
    const f = new EarlyFusion({ inputDims: { a: 2, b: 2 }, ...tiny, pooling: 'mean' });
    const x = randn([1, 2, 2], { seed: 4 });
    const { fused, sequence } = f.forward({ a: x, b: x });
    expect(sequence!.shape).toEqual([1, 4, 8]);
    expectClose(values(fused), values(sequence!.mean(1)), 5);
    // Same projection weights for both modalities: only the type embeddings differ.
    f.getParameter('projections.b.weight').assign(f.getParameter('projections.a.weight'));
    f.getParameter('projections.b.bias').assign(f.getParameter('projections.a.bias'));
    const seq = f.forward({ a: x, b: x }).sequence!;
    expect(maxDiff(seq.narrow(1, 0, 2), seq.narrow(1, 2, 2))).toBeGreaterThan(1e-4);
    expect(() => new EarlyFusion({ inputDims: dims, ...tiny, pooling: 'max' as never })).toThrow(
      ArgumentError,
    );
  });
});

describe('SelfAttentionFusion', () => {
  it('fused is the masked mean of the joint sequence; padding is ignored', () => {
    const f = new SelfAttentionFusion({ inputDims: dims, ...tiny });
    const garbage = text.add(tensor([0, 50], { shape: [1, 2, 1] }));
    const { fused, sequence, mask } = f.forward({ image, text: garbage }, { text: textMask });
    expect(sequence!.shape).toEqual([2, 5, 8]);
    expectClose(values(fused), values(maskedMean(sequence!, mask!)), 5);
    // Sample 0 (one real text token) must equal running it with the padding cut off.
    const cut = f.forward({ image: image.narrow(0, 0, 1), text: text.narrow(0, 0, 1).narrow(1, 0, 1) }).fused;
    expectClose(values(fused.narrow(0, 0, 1)), values(cut));
  });
});

describe('HierarchicalFusion', () => {
  it('fuses at the token and the pooled level and combines them', () => {
    const f = new HierarchicalFusion({ inputDims: dims, dModel: 8, numHeads: 2, outputDim: 5, seed: 0 });
    const { fused, levels } = f.forward({ image, text }, { text: textMask });
    expect(levels!.token!.shape).toEqual([2, 5]);
    expect(levels!.pooled!.shape).toEqual([2, 5]);
    expectClose(values(fused), values(f.combine.forward(cat([levels!.token!, levels!.pooled!], -1))), 5);
    // The pooled level is W_p·[mean(image); masked mean(text)] (hand-built here).
    const pooledInput = cat([image.mean(1), maskedMean(text, textMask)], -1);
    expectClose(values(levels!.pooled!), values(f.pooledHead.forward(pooledInput)), 5);
    // Token level: image tokens attend to text, so changing only real text tokens moves it.
    const moved = f.forward({ image, text: otherText }, { text: textMask }).levels!.token!;
    expect(maxDiff(moved, levels!.token!)).toBeGreaterThan(1e-4);
  });
});

describe('IntermediateFusion (two-stream co-attention)', () => {
  it('streams exchange information only through the cross-attention layers', () => {
    const f = new IntermediateFusion({ inputDims: dims, ...tiny, numLayers: 2, crossLayers: [1] });
    expect(f.crossLayers).toEqual([1]);
    const out = f.forward({ image, text }, { text: textMask });
    expect(out.features!.image!.shape).toEqual([2, 3, 8]);
    expect(out.features!.text!.shape).toEqual([2, 2, 8]);
    expect(out.fused.shape).toEqual([2, 8]);
    const moved = f.forward({ image, text: otherText }, { text: textMask });
    expect(maxDiff(moved.features!.image!, out.features!.image!)).toBeGreaterThan(1e-4);
    expect(new IntermediateFusion({ inputDims: dims, ...tiny, numLayers: 3 }).crossLayers).toEqual([1]);
  });
});

describe('LateFusion', () => {
  it('encodes each modality separately: image features ignore the text', () => {
    const f = new LateFusion({ inputDims: dims, hiddenDim: 6, outputDim: 5, seed: 0 });
    const a = f.forward({ image, text }, { text: textMask });
    const b = f.forward({ image, text: otherText }, { text: textMask });
    expectClose(values(a.features!.image!), values(b.features!.image!), 6);
    expect(maxDiff(a.fused, b.fused)).toBeGreaterThan(1e-4);
    expect(a.fused.shape).toEqual([2, 5]);
  });

  it('takes injected encoders and combiner, and checks that they fit', () => {
    const encoders = { image: new Linear(4, 2, { seed: 1 }), text: new Linear(3, 5, { seed: 2 }) };
    const combiner = new ConcatFusion({ inputDims: { image: 2, text: 5 } });
    const f = new LateFusion({ inputDims: dims, encoders, encoderDims: { image: 2, text: 5 }, combiner });
    expect(f.outputDim).toBe(7);
    expect(f.forward({ image: randn([3, 4]), text: randn([3, 3]) }).fused.shape).toEqual([3, 7]);
    expect(
      () => new LateFusion({ inputDims: dims, encoders, encoderDims: { image: 2, text: 4 }, combiner }),
    ).toThrow(/combiner inputDims/);
    expect(() => new LateFusion({ inputDims: dims, encoders })).toThrow(/encoderDims/);
    expect(
      () => new LateFusion({ inputDims: dims, encoders: { image: encoders.image }, encoderDims: {} }),
    ).toThrow(/encoders must cover/);
    expect(() => new LateFusion({ inputDims: dims })).toThrow(/outputDim is required/);
  });
});
