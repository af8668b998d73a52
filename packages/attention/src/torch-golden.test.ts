import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LayerNorm } from '@polymodal/nn';
import { type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { CrossAttentionLayer } from './cross-attention-layer.js';
import { MultiHeadAttention } from './multi-head-attention.js';
import { sinCos2dPositionalEncoding, sinusoidalPositionalEncoding } from './positional-encoding.js';
import { TransformerEncoder } from './transformer-encoder.js';
import { TransformerEncoderLayer } from './transformer-encoder-layer.js';

// Golden values: fixtures/*.json come from scripts/make-fixtures.py (PyTorch 1.13, fixed seeds,
// dropout 0): torch modules' state dicts, inputs and outputs.
interface Encoded {
  shape: number[];
  data: (number | boolean)[];
}
interface Fixture {
  stateDict: Record<string, Encoded>;
  inputs: Record<string, Encoded>;
  outputs: Record<string, Encoded>;
}

const load = (name: string): Fixture =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', `${name}.json`), 'utf8')) as Fixture;

const decode = (e: Encoded): Tensor =>
  typeof e.data[0] === 'boolean'
    ? tensor(e.data as boolean[], { shape: e.shape, dtype: 'bool' })
    : tensor(e.data as number[], { shape: e.shape });

function stateDict(f: Fixture): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(f.stateDict).map(([k, v]) => [k, decode(v)]));
}

function expectGolden(actual: Tensor, golden: Encoded, tol = 1e-4): void {
  expect(actual.shape).toEqual(golden.shape);
  const values = actual.dataSync();
  let worst = 0;
  golden.data.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(values[i]! - (v as number)));
  });
  expect(worst).toBeLessThan(tol);
}

describe('golden values vs PyTorch', () => {
  it('nn.MultiheadAttention self-attention with key padding (packed in_proj)', () => {
    const f = load('mha-self');
    const mha = new MultiHeadAttention(8, 2);
    mha.loadStateDict(stateDict(f));
    const x = decode(f.inputs['x']!);
    const pad = decode(f.inputs['keyPaddingMask']!);
    const { output, weights } = mha.forward(x, x, x, { keyPaddingMask: pad });
    expectGolden(output, f.outputs['output']!);
    expectGolden(weights!, f.outputs['weights']!);
    const perHead = mha.forward(x, x, x, { keyPaddingMask: pad, averageAttnWeights: false }).weights!;
    expectGolden(perHead, f.outputs['headWeights']!);
  });

  it('nn.MultiheadAttention cross-attention (kdim ≠ vdim ≠ embedDim) with a bool attn_mask', () => {
    const f = load('mha-cross');
    const mha = new MultiHeadAttention(8, 4, { kdim: 6, vdim: 5 });
    mha.loadStateDict(stateDict(f));
    const [q, k, v] = ['q', 'k', 'v'].map((n) => decode(f.inputs[n]!)) as [Tensor, Tensor, Tensor];
    const { output, weights } = mha.forward(q, k, v, { attnMask: decode(f.inputs['attnMask']!) });
    expectGolden(output, f.outputs['output']!);
    expectGolden(weights!, f.outputs['weights']!);
  });

  it.each([
    ['encoder-post-norm', false, 'relu'],
    ['encoder-pre-norm', true, 'gelu'],
  ] as const)('nn.TransformerEncoderLayer(batch_first=True) %s', (name, normFirst, activation) => {
    const f = load(name);
    const layer = new TransformerEncoderLayer(8, 2, {
      dimFeedforward: 16,
      dropout: 0,
      normFirst,
      activation,
    });
    layer.loadStateDict(stateDict(f));
    const y = layer.forward(decode(f.inputs['src']!), {
      srcKeyPaddingMask: decode(f.inputs['srcKeyPaddingMask']!),
    });
    expectGolden(y, f.outputs['output']!);
  });

  it('nn.TransformerEncoder: 2 pre-norm layers, final norm, causal mask', () => {
    const f = load('encoder-2-layers');
    const encoder = new TransformerEncoder(
      { dModel: 8, nHead: 2, dimFeedforward: 12, dropout: 0, normFirst: true },
      2,
      {
        norm: new LayerNorm(8),
      },
    );
    encoder.loadStateDict(stateDict(f));
    expectGolden(encoder.forward(decode(f.inputs['src']!), { isCausal: true }), f.outputs['output']!);
  });

  it('CrossAttentionLayer (dContext = dModel) equals nn.TransformerDecoderLayer(norm_first=True, gelu)', () => {
    const f = load('decoder-layer');
    const layer = new CrossAttentionLayer(8, 8, 2, {
      dimFeedforward: 12,
      dropout: 0,
      activation: 'gelu',
      normFirst: true,
    });
    layer.loadStateDict(stateDict(f));
    const y = layer.forward(decode(f.inputs['x']!), decode(f.inputs['context']!), {
      contextPaddingMask: decode(f.inputs['contextPaddingMask']!),
    });
    expectGolden(y, f.outputs['output']!);
  });

  it('positional encodings: Vaswani sinusoid and MAE 2-D sin-cos', () => {
    const f = load('positional');
    expectGolden(sinusoidalPositionalEncoding(10, 6), f.outputs['sinusoidal-10x6']!, 1e-5);
    expectGolden(sinCos2dPositionalEncoding(3, 4, 8), f.outputs['sincos2d-3x4x8']!, 1e-5);
  });
});
