import { ArgumentError, PolymodalError, randn, scope } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  ConcatFusion,
  createFusion,
  type FusionConfig,
  FusionModule,
  fusionFromConfig,
  GatedFusion,
  type LateFusion,
  listFusions,
  registerFusion,
  UnknownFusionError,
  unregisterFusion,
} from './index.js';

const BUILTINS = [
  'attention',
  'bilinear',
  'concat',
  'decision',
  'early',
  'film',
  'gated',
  'hierarchical',
  'intermediate',
  'late',
  'product',
  'relational',
  'self-attention',
  'sum',
];

/** One JSON config per built-in, as it could come from a file. */
const CONFIGS: FusionConfig[] = [
  { type: 'attention', inputDims: { image: 4, text: 3 }, outputDim: 5 },
  { type: 'bilinear', inputDims: { image: 4, text: 3 }, outputDim: 5, rank: 2 },
  { type: 'concat', inputDims: { image: 4, text: 3 }, outputDim: 5 },
  { type: 'decision', inputDims: { image: 4, text: 3 }, numClasses: 5, combine: 'productOfExperts' },
  { type: 'early', inputDims: { image: 4, text: 3 }, dModel: 8, numHeads: 2, numLayers: 1, pooling: 'mean' },
  {
    type: 'film',
    inputDims: { image: 4, text: 3 },
    target: 'image',
    condition: 'text',
    hiddenDim: 6,
    numBlocks: 2,
    norm: 'layer',
    pooling: 'mean',
    outputDim: 5,
  },
  { type: 'gated', inputDims: { image: 4, text: 3 }, outputDim: 5 },
  { type: 'hierarchical', inputDims: { image: 4, text: 3 }, dModel: 8, numHeads: 2, outputDim: 5 },
  {
    type: 'intermediate',
    inputDims: { image: 4, text: 3 },
    dModel: 8,
    numHeads: 2,
    numLayers: 2,
    outputDim: 5,
  },
  { type: 'late', inputDims: { image: 4, text: 3 }, hiddenDim: 6, outputDim: 5 },
  { type: 'product', inputDims: { image: 4, text: 3 }, outputDim: 5 },
  {
    type: 'relational',
    inputDims: { image: 4, text: 3 },
    objects: 'image',
    question: ['text'],
    hiddenDim: 6,
    gLayers: 2,
    fLayers: 2,
    aggregation: 'sum',
    outputDim: 5,
  },
  { type: 'self-attention', inputDims: { image: 4, text: 3 }, dModel: 8, numHeads: 2, numLayers: 1 },
  { type: 'sum', inputDims: { image: 4, text: 3 }, outputDim: 5 },
];

describe('registry', () => {
  it('lists the built-ins, sorted', () => {
    expect(listFusions()).toEqual(BUILTINS);
  });

  it.each(CONFIGS)('fusionFromConfig builds $type from plain JSON and it runs', (config) => {
    const fusion = fusionFromConfig(JSON.parse(JSON.stringify(config)) as FusionConfig);
    expect(fusion).toBeInstanceOf(FusionModule);
    const expectedDim = (config.outputDim ?? config.numClasses ?? config.dModel) as number;
    expect(fusion.outputDim).toBe(expectedDim);
    const fused = scope(() => fusion.forward({ image: randn([2, 4]), text: randn([2, 3]) }).fused);
    expect(fused.shape).toEqual([2, expectedDim]);
  });

  it('a config key the strategy never reads is reported, not ignored', () => {
    expect(() =>
      fusionFromConfig({ type: 'concat', inputDims: { image: 4, text: 3 }, outputdim: 8 }),
    ).toThrow(/fusionFromConfig: 'concat' does not take option 'outputdim'/);
    expect(() =>
      fusionFromConfig({
        type: 'gated',
        inputDims: { image: 4, text: 3 },
        outputDim: 8,
        heads: 2,
        dropOut: 0.1,
      }),
    ).toThrow(/'gated' does not take options 'heads', 'dropOut'/);
  });

  it('late fusion takes its combiner as a nested config', () => {
    const late = fusionFromConfig({
      type: 'late',
      inputDims: { image: 4, text: 3 },
      hiddenDim: 6,
      combiner: { type: 'gated', outputDim: 7 },
    }) as LateFusion;
    expect(late.combiner).toBeInstanceOf(GatedFusion);
    expect(late.combiner.inputDims).toEqual({ image: 6, text: 6 });
    expect(late.outputDim).toBe(7);
    const out = late.forward({ image: randn([2, 4]), text: randn([2, 3]) });
    expect(out.weights!.shape).toEqual([2, 2, 7]); // the gated combiner's extras come through
    expect(Object.keys(out.features!)).toEqual(['image', 'text']);
  });

  it('unknown names throw UnknownFusionError listing the known ones', () => {
    let error: unknown;
    try {
      fusionFromConfig({ type: 'telepathy', inputDims: { a: 1 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownFusionError);
    expect(error).toBeInstanceOf(PolymodalError);
    expect((error as UnknownFusionError).known).toEqual(BUILTINS);
    expect((error as Error).message).toContain(
      "unknown fusion 'telepathy'; known fusions: attention, bilinear, concat",
    );
    expect(() => createFusion('nope', { inputDims: { a: 1 } })).toThrow(UnknownFusionError);
    expect(() => fusionFromConfig({ inputDims: { a: 1 } } as unknown as FusionConfig)).toThrow(ArgumentError);
    expect(() => fusionFromConfig({ type: 'concat' } as unknown as FusionConfig)).toThrow(/inputDims/);
  });

  it('registers, refuses duplicates, overrides and unregisters custom strategies', () => {
    const factory = (o: { inputDims: Record<string, number> }) =>
      new ConcatFusion({ inputDims: o.inputDims });
    registerFusion('my-concat', factory);
    try {
      expect(listFusions()).toContain('my-concat');
      expect(createFusion('my-concat', { inputDims: { a: 2, b: 3 } }).outputDim).toBe(5);
      expect(() => registerFusion('my-concat', factory)).toThrow(/already registered/);
      expect(() => registerFusion('concat', factory)).toThrow(ArgumentError);
      registerFusion('my-concat', () => ({}) as FusionModule, { override: true });
      expect(() => createFusion('my-concat', { inputDims: { a: 2 } })).toThrow(
        /did not return a FusionModule/,
      );
    } finally {
      expect(unregisterFusion('my-concat')).toBe(true);
    }
    expect(listFusions()).toEqual(BUILTINS);
    expect(() => registerFusion('', factory)).toThrow(ArgumentError);
  });

  it('typed createFusion for a built-in', () => {
    const f = createFusion('concat', { inputDims: { image: 2, text: 2 }, outputDim: 3, seed: 1 });
    expect(f).toBeInstanceOf(ConcatFusion);
  });
});
