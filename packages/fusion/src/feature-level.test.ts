/**
 * Golden values for the feature-level and decision-level strategies: weights are set by hand and
 * every expected number is computed independently below with plain JavaScript arithmetic from the
 * formula in each strategy's doc comment.
 */
import { Linear, type Module } from '@polymodal/nn';
import { noGrad, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  AttentionFusion,
  BilinearFusion,
  ConcatFusion,
  DecisionFusion,
  GatedFusion,
  ProductFusion,
  SumFusion,
} from './index.js';

function setParams(module: Module, values: Record<string, number[]>): void {
  noGrad(() => {
    for (const [name, v] of Object.entries(values)) {
      const p = module.getParameter(name);
      p.assign(tensor(v, { shape: p.shape }));
    }
  });
}

const values = (t: Tensor): number[] => Array.from(t.dataSync());
const expectClose = (got: number[], want: number[], digits = 5) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits));
};
const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

// One sample: image = [1, 2], text = [3].
const image = tensor([[1, 2]]);
const text = tensor([[3]]);
const dims = { image: 2, text: 1 };

describe('golden values', () => {
  it('ConcatFusion: W·[image; text] + b', () => {
    const f = new ConcatFusion({ inputDims: dims, outputDim: 2 });
    setParams(f, { 'projection.weight': [1, 0, -1, 0.5, 0.5, 0.5], 'projection.bias': [0.1, -0.1] });
    // [1·1 + 0·2 − 1·3 + 0.1, 0.5·1 + 0.5·2 + 0.5·3 − 0.1] = [−1.9, 2.9]
    expectClose(values(f.forward({ image, text }).fused), [-1.9, 2.9]);
    expect(new ConcatFusion({ inputDims: dims }).outputDim).toBe(3);
  });

  it('SumFusion and ProductFusion: projections added / multiplied', () => {
    const params = {
      'projections.image.weight': [1, 1],
      'projections.image.bias': [0],
      'projections.text.weight': [2],
      'projections.text.bias': [1],
    };
    const sum = new SumFusion({ inputDims: dims, outputDim: 1 });
    const product = new ProductFusion({ inputDims: dims, outputDim: 1 });
    setParams(sum, params);
    setParams(product, params);
    // image → 1 + 2 = 3; text → 2·3 + 1 = 7
    expectClose(values(sum.forward({ image, text }).fused), [10]);
    expectClose(values(product.forward({ image, text }).fused), [21]);
  });

  it('GatedFusion: Σ_m softmax_m(W_z·x) ⊙ tanh(W_m x_m)', () => {
    const f = new GatedFusion({ inputDims: dims, outputDim: 1 });
    setParams(f, {
      'projections.image.weight': [0.5, -0.25],
      'projections.image.bias': [0.1],
      'projections.text.weight': [0.2],
      'projections.text.bias': [0],
      'gate.weight': [0.1, 0.2, 0.3, -0.3, 0.1, 0],
      'gate.bias': [0, 0.5],
    });
    const hImage = Math.tanh(0.5 * 1 - 0.25 * 2 + 0.1);
    const hText = Math.tanh(0.2 * 3);
    const [zImage, zText] = softmax([0.1 + 0.4 + 0.9, -0.3 + 0.2 + 0 + 0.5]) as [number, number];
    const { fused, weights } = f.forward({ image, text });
    expectClose(values(fused), [zImage * hImage + zText * hText]);
    expect(weights!.shape).toEqual([1, 2, 1]);
    expectClose(values(weights!), [zImage, zText]);
  });

  it('BilinearFusion (MFB): sum-pool of the product over rank windows, optional power + L2 norm', () => {
    const f = new BilinearFusion({ inputDims: dims, outputDim: 2, rank: 2 });
    const params = {
      'projections.image.weight': [1, 0, 0, 1, 1, 1, -1, 0],
      'projections.image.bias': [0, 0, 0, 0],
      'projections.text.weight': [1, 2, -1, 0.5],
      'projections.text.bias': [0, 0, 0, 1],
    };
    setParams(f, params);
    // image → [1, 2, 3, −1]; text → [3, 6, −3, 2.5]; product [3, 12, −9, −2.5] → windows of 2: [15, −11.5]
    expectClose(values(f.forward({ image, text }).fused), [15, -11.5]);
    const g = new BilinearFusion({ inputDims: dims, outputDim: 2, rank: 2, normalize: true });
    setParams(g, params);
    const s = [Math.sqrt(15), -Math.sqrt(11.5)];
    const n = Math.hypot(s[0]!, s[1]!);
    expectClose(values(g.forward({ image, text }).fused), [s[0]! / n, s[1]! / n]);
  });

  it('AttentionFusion: torchmultimodal AttentionFusionModule', () => {
    const f = new AttentionFusion({ inputDims: dims, outputDim: 1 });
    expect(new AttentionFusion({ inputDims: dims }).outputDim).toBe(1); // default: smallest width
    setParams(f, {
      'attention.weight': [0.1, 0, 0.2, 0, 0.3, -0.1],
      'attention.bias': [0, 0],
      'projections.image.weight': [1, 1],
      'projections.image.bias': [0],
      'projections.text.weight': [-1],
      'projections.text.bias': [0],
    });
    const w = softmax([0.1 + 0.6, 0.6 - 0.3]);
    const { fused, weights } = f.forward({ image, text });
    expectClose(values(weights!), w);
    expectClose(values(fused), [w[0]! * 3 + w[1]! * -3]);
  });

  it('DecisionFusion: mean, weighted and product of experts of the heads', () => {
    const heads = () => {
      const a = new Linear(2, 2);
      const b = new Linear(1, 2);
      setParams(a, { weight: [1, 0, 0, 1], bias: [0, 0] }); // image logits [1, 2]
      setParams(b, { weight: [1, -1], bias: [0, 0] }); // text logits [3, −3]
      return { image: a, text: b };
    };
    const pImage = softmax([1, 2]);
    const pText = softmax([3, -3]);
    const mean = new DecisionFusion({ inputDims: dims, numClasses: 2, heads: heads(), combine: 'mean' });
    const out = mean.forward({ image, text });
    expectClose(
      values(out.fused),
      [0, 1].map((c) => Math.log((pImage[c]! + pText[c]!) / 2)),
    );
    expectClose(values(out.decisions!.image!), [1, 2]);
    expectClose(values(out.weights!), [0.5, 0.5]);

    const weighted = new DecisionFusion({
      inputDims: dims,
      numClasses: 2,
      heads: heads(),
      combine: 'weighted',
    });
    setParams(weighted, { modality_logits: [Math.log(3), 0] }); // weights [0.75, 0.25]
    expectClose(
      values(weighted.forward({ image, text }).fused),
      [0, 1].map((c) => Math.log(0.75 * pImage[c]! + 0.25 * pText[c]!)),
    );

    const poe = new DecisionFusion({
      inputDims: dims,
      numClasses: 2,
      heads: heads(),
      combine: 'productOfExperts',
    });
    const joint = softmax([Math.log(pImage[0]! * pText[0]!), Math.log(pImage[1]! * pText[1]!)]);
    const poeOut = poe.forward({ image, text });
    expectClose(values(poeOut.fused), joint.map(Math.log));
    expect(poeOut.weights).toBeUndefined();
    expect(() => new DecisionFusion({ inputDims: dims, numClasses: 2, combine: 'max' as never })).toThrow(
      /combine/,
    );
  });
});
