/**
 * RelationalFusion beyond the shared strategy tests: PyTorch references that build every pair
 * explicitly (fixtures/conditioning.json from scripts/make-conditioning-fixtures.py), so our per-cell
 * decomposition of g's first layer is checked against the naive form; plus the Relation Network's
 * properties (order of cells does not matter, sum = N²·mean), masks and bad options.
 */
import { noGrad, randn, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  decode,
  decodeAll,
  conditioningFixture as fx,
  maxAbsDiff,
  worstDiff,
} from '../test/conditioning-fixture.js';
import { fusionFromConfig, RelationalFusion } from './index.js';

const dims = { image: 4, text: 3 };
const text = decode(fx.text);
const textMask = decode(fx.textMask);

describe('RelationalFusion matches the naive pairwise PyTorch reference', () => {
  it.each([
    ['relational mean, padded cells', { gLayers: 3, fLayers: 2, aggregation: 'mean' }],
    ['relational sum', { gLayers: 2, fLayers: 1, aggregation: 'sum' }],
  ] as const)('%s: within 1e-4', (name, options) => {
    const c = fx.cases[name]!;
    const rn = new RelationalFusion({ inputDims: dims, hiddenDim: 6, outputDim: 5, ...options });
    rn.loadStateDict(decodeAll(c.stateDict));
    const masks = c.imageMask ? { text: textMask, image: decode(c.imageMask) } : { text: textMask };
    const { fused } = rn.forward({ image: decode(c.image), text }, masks);
    expect(fused.shape).toEqual(c.outputs.fused!.shape);
    expect(worstDiff(fused, c.outputs.fused!)).toBeLessThan(1e-4);
  });
});

describe('RelationalFusion', () => {
  const image = randn([2, 5, 4], { seed: 1 });
  const q = randn([2, 3], { seed: 2 });

  it('does not depend on the order of the cells (a set of objects)', () => {
    const rn = new RelationalFusion({ inputDims: dims, hiddenDim: 8, seed: 0 });
    const shuffled = image.indexSelect(1, tensor(new Int32Array([3, 0, 4, 2, 1])));
    expect(
      maxAbsDiff(rn.forward({ image, text: q }).fused, rn.forward({ image: shuffled, text: q }).fused),
    ).toBeLessThan(1e-5);
  });

  it("'sum' aggregates N² times what 'mean' does (read out by a linear f)", () => {
    const mean = new RelationalFusion({ inputDims: dims, hiddenDim: 8, fLayers: 1, seed: 3 });
    const sum = new RelationalFusion({
      inputDims: dims,
      hiddenDim: 8,
      fLayers: 1,
      aggregation: 'sum',
      seed: 3,
    });
    noGrad(() => {
      for (const b of [mean, sum]) b.getParameter('f.0.bias').assign(b.getParameter('f.0.bias').mul(0));
    });
    const m = mean.forward({ image, text: q }).fused;
    const s = sum.forward({ image, text: q }).fused;
    expect(maxAbsDiff(s, m.mul(25))).toBeLessThan(1e-3 * (1 + Math.abs(s.abs().max().item())));
  });

  it('pairs with a padded cell are dropped; the question changes the output', () => {
    const rn = new RelationalFusion({ inputDims: dims, hiddenDim: 8, seed: 4 });
    const mask = tensor(
      [
        [true, true, true, false, false],
        [true, true, true, true, true],
      ],
      { dtype: 'bool' },
    );
    const noisy = image.add(tensor([0, 0, 0, 1, 1, 0, 0, 0, 0, 0], { shape: [2, 5, 1] }).mul(100));
    const a = rn.forward({ image, text: q }, { image: mask }).fused;
    expect(maxAbsDiff(a, rn.forward({ image: noisy, text: q }, { image: mask }).fused)).toBeLessThan(1e-5);
    // Sample 0 with its padding dropped equals the 3 real cells alone.
    const alone = rn.forward({ image: image.narrow(0, 0, 1).narrow(1, 0, 3), text: q.narrow(0, 0, 1) }).fused;
    expect(maxAbsDiff(a.narrow(0, 0, 1), alone)).toBeLessThan(1e-5);
    expect(
      maxAbsDiff(a, rn.forward({ image, text: randn([2, 3], { seed: 9 }) }, { image: mask }).fused),
    ).toBeGreaterThan(1e-3);
    const none = tensor(
      [
        [false, false, false, false, false],
        [true, true, true, true, true],
      ],
      { dtype: 'bool' },
    );
    expect(rn.forward({ image, text: q }, { image: none }).fused.dataSync().every(Number.isFinite)).toBe(
      true,
    );
  });

  it('roles, parameter names and typed errors', () => {
    const rn = fusionFromConfig({
      type: 'relational',
      inputDims: { audio: 2, ...dims },
      gLayers: 1,
    }) as RelationalFusion;
    expect([rn.objects, rn.question]).toEqual(['image', ['audio', 'text']]);
    expect(rn.namedParameters().map(([n, p]) => `${n} ${p.shape}`)).toEqual([
      'left.weight 64,4',
      'left.bias 64',
      'right.weight 64,4',
      'question.weight 64,5',
      'f.0.weight 64,64',
      'f.0.bias 64',
      'f.3.weight 64,64',
      'f.3.bias 64',
    ]);
    expect(() => new RelationalFusion({ inputDims: dims, aggregation: 'max' as never })).toThrow(
      /aggregation/,
    );
    expect(() => new RelationalFusion({ inputDims: { a: 1, b: 2 } })).toThrow(/objects must name/);
    expect(() => new RelationalFusion({ inputDims: dims, gLayers: 0 })).toThrow(/gLayers/);
  });
});
