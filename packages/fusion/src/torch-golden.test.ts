/**
 * The token-level strategies against PyTorch references built from torch's own layers
 * (scripts/make-fixtures.py → fixtures/token-level.json): the torch state dict loads unchanged
 * (strict), and outputs — including the padded sample — match within 1e-4.
 */
import { readFileSync } from 'node:fs';
import { type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  EarlyFusion,
  type FusionModule,
  type FusionOutput,
  HierarchicalFusion,
  IntermediateFusion,
  SelfAttentionFusion,
} from './index.js';

interface Encoded {
  shape: number[];
  data: (number | boolean)[];
}
interface Fixture {
  inputs: Record<string, Encoded>;
  masks: Record<string, Encoded>;
  cases: Record<string, { stateDict: Record<string, Encoded>; outputs: Record<string, Encoded> }>;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/token-level.json', import.meta.url), 'utf8'),
) as Fixture;

const decode = (e: Encoded): Tensor =>
  typeof e.data[0] === 'boolean'
    ? tensor(e.data as boolean[], { shape: e.shape, dtype: 'bool' })
    : tensor(Float32Array.from(e.data as number[]), { shape: e.shape });
const decodeAll = (r: Record<string, Encoded>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, decode(v)]));

const dims = { image: 4, text: 3 };
const transformer = { dModel: 8, numHeads: 2, dimFeedforward: 16, dropout: 0 };
const BUILD: Record<string, () => FusionModule> = {
  early: () => new EarlyFusion({ inputDims: dims, ...transformer, numLayers: 2, maxPositions: 3 }),
  'self-attention': () => new SelfAttentionFusion({ inputDims: dims, ...transformer, numLayers: 2 }),
  hierarchical: () => new HierarchicalFusion({ inputDims: dims, dModel: 8, numHeads: 2, outputDim: 5 }),
  intermediate: () =>
    new IntermediateFusion({ inputDims: dims, ...transformer, numLayers: 2, crossLayers: [1] }),
};

/** Where each torch output lives in our `FusionOutput`. */
function pick(out: FusionOutput, key: string): Tensor {
  if (key === 'fused') return out.fused;
  if (key === 'sequence') return out.sequence!;
  if (out.levels && key in out.levels) return out.levels[key]!;
  return out.features![key]!;
}

describe.each(Object.keys(BUILD))('%s matches its PyTorch reference', (name) => {
  it('loads the torch state dict strictly and reproduces every output within 1e-4', () => {
    const c = fixture.cases[name]!;
    const fusion = BUILD[name]!();
    fusion.loadStateDict(decodeAll(c.stateDict)); // strict: same names and shapes as torch's
    fusion.eval();
    const out = fusion.forward(decodeAll(fixture.inputs), decodeAll(fixture.masks));
    for (const [key, expected] of Object.entries(c.outputs)) {
      const got = pick(out, key);
      expect(got.shape, key).toEqual(expected.shape);
      const g = got.dataSync();
      const worst = (expected.data as number[]).reduce((w, v, i) => Math.max(w, Math.abs(v - g[i]!)), 0);
      expect(worst, `${name}.${key}`).toBeLessThan(1e-4);
    }
  });
});
