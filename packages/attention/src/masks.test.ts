import { cat, DTypeError, randn, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { CrossAttentionLayer } from './cross-attention-layer.js';
import { CrossModalAttention } from './cross-modal-attention.js';
import { attentionMaskFromPaddingMask, paddingMaskFromAttentionMask } from './masks.js';
import { MultiHeadAttention } from './multi-head-attention.js';
import { scaledDotProductAttention } from './scaled-dot-product-attention.js';
import { TransformerEncoder } from './transformer-encoder.js';
import { TransformerEncoderLayer } from './transformer-encoder-layer.js';

const arr = (t: Tensor): number[] => Array.from(t.dataSync());
const bool = (rows: number[][]) =>
  tensor(rows.flat(), { shape: [rows.length, rows[0]!.length], dtype: 'bool' });

describe('mask conversions', () => {
  it('flip an attention mask (bool or int 1/0, true = real) into a padding mask (true = padding) and back', () => {
    const attention = [
      [1, 1, 1, 0],
      [1, 0, 0, 0],
    ];
    const padding = [
      [0, 0, 0, 1],
      [0, 1, 1, 1],
    ];
    const fromBool = paddingMaskFromAttentionMask(bool(attention));
    const fromInt = paddingMaskFromAttentionMask(tensor(attention.flat(), { shape: [2, 4], dtype: 'int32' }));
    for (const t of [fromBool, fromInt]) {
      expect(t.dtype).toBe('bool');
      expect(t.shape).toEqual([2, 4]);
      expect(arr(t)).toEqual(padding.flat());
    }
    expect(arr(attentionMaskFromPaddingMask(fromBool))).toEqual(attention.flat());
    expect(arr(attentionMaskFromPaddingMask(tensor(padding.flat(), { dtype: 'int32' })))).toEqual(
      attention.flat(),
    );
    expect(() => paddingMaskFromAttentionMask(tensor([1, 0]))).toThrow(DTypeError);
    expect(() => attentionMaskFromPaddingMask(tensor([1, 0]))).toThrow(/additive/);
  });

  it('an attention mask through the converter selects the same keys as dropping the padding', () => {
    // Independent check: the real tokens of a padded row encode exactly as the row alone, unpadded.
    const encoder = new TransformerEncoder(
      { dModel: 8, nHead: 2, dimFeedforward: 16, dropout: 0, seed: 1 },
      2,
    );
    const short = randn([1, 3, 8], { seed: 2 });
    const long = randn([1, 5, 8], { seed: 3 });
    const padded = cat([cat([short, randn([1, 2, 8], { seed: 4 })], 1), long], 0); // [2, 5, 8]
    const attentionMask = bool([
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    const out = encoder.forward(padded, { srcKeyPaddingMask: paddingMaskFromAttentionMask(attentionMask) });
    const alone = arr(encoder.forward(short));
    const got = arr(out.slice(0, 0, 1).slice(1, 0, 3));
    got.forEach((v, i) => expect(v).toBeCloseTo(alone[i]!, 5));
    // scaledDotProductAttention takes the attention mask itself (true = attend), as torch's F.sdpa.
    const q = randn([2, 1, 5, 4], { seed: 5 });
    const k = randn([2, 1, 5, 4], { seed: 6 });
    const v = randn([2, 1, 5, 4], { seed: 7 });
    const viaSdpa = arr(
      scaledDotProductAttention(q, k, v, { mask: attentionMask.reshape([2, 1, 1, 5]) }).output,
    );
    const row0 = arr(
      scaledDotProductAttention(
        q.slice(0, 0, 1),
        k.slice(0, 0, 1).slice(2, 0, 3),
        v.slice(0, 0, 1).slice(2, 0, 3),
      ).output,
    );
    row0.forEach((x, i) => expect(viaSdpa[i]!).toBeCloseTo(x, 5));
  });

  it('the torch-style modules refuse an int mask (torch would add it to the scores) and say how to convert', () => {
    const x = randn([2, 3, 8], { seed: 1 });
    const intMask = tensor([1, 1, 0, 1, 0, 0], { shape: [2, 3], dtype: 'int32' });
    const mha = new MultiHeadAttention(8, 2, { seed: 0 });
    expect(() => mha.forward(x, x, x, { keyPaddingMask: intMask })).toThrow(DTypeError);
    expect(() => mha.forward(x, x, x, { keyPaddingMask: intMask })).toThrow(
      /MultiHeadAttention: keyPaddingMask must be bool \(true = padding, as in torch\).*paddingMaskFromAttentionMask/,
    );
    expect(() =>
      mha.forward(x, x, x, {
        attnMask: tensor([0, 1, 0, 0, 0, 0, 0, 0, 0], { shape: [3, 3], dtype: 'int32' }),
      }),
    ).toThrow(/attnMask must be bool \(true = not allowed/);
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, seed: 0 });
    expect(() => layer.forward(x, { srcKeyPaddingMask: intMask })).toThrow(
      /TransformerEncoderLayer: srcKeyPaddingMask/,
    );
    const cross = new CrossAttentionLayer(8, 8, 2, { seed: 0 });
    expect(() => cross.forward(x, x, { contextPaddingMask: intMask })).toThrow(
      /CrossAttentionLayer: contextPaddingMask/,
    );
    const xattn = new CrossModalAttention(8, 8, { numHeads: 2, seed: 0 });
    expect(() => xattn.forward(x, x, { contextPaddingMask: intMask })).toThrow(
      /CrossModalAttention: contextPaddingMask/,
    );
    // The converted mask is accepted and equals the bool padding mask's result.
    const a = arr(mha.forward(x, x, x, { keyPaddingMask: paddingMaskFromAttentionMask(intMask) }).output);
    const b = arr(
      mha.forward(x, x, x, {
        keyPaddingMask: bool([
          [0, 0, 1],
          [0, 1, 1],
        ]),
      }).output,
    );
    expect(a).toEqual(b);
  });
});
