import { gradCheckModule } from '@polymodal/nn';
import { ArgumentError, randn, ShapeError, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { CrossModalAttention } from './cross-modal-attention.js';
import { MultiHeadAttention } from './multi-head-attention.js';

const arr = (t: Tensor): number[] => Array.from(t.dataSync());

describe('MultiHeadAttention', () => {
  it('uses torch parameter names and init (packed vs separate projections)', () => {
    const packed = new MultiHeadAttention(8, 2, { seed: 0 });
    expect(Object.keys(packed.stateDict())).toEqual([
      'in_proj_weight',
      'in_proj_bias',
      'out_proj.weight',
      'out_proj.bias',
    ]);
    expect(packed.stateDict()['in_proj_weight']!.shape).toEqual([24, 8]);
    // torch: in_proj_bias and out_proj.bias start at zero; xavier bound √(6/(8+24)).
    expect(arr(packed.inProjBias!).every((v) => v === 0)).toBe(true);
    expect(arr(packed.outProj.bias!).every((v) => v === 0)).toBe(true);
    expect(arr(packed.inProjWeight!).every((v) => Math.abs(v) <= Math.sqrt(6 / 32))).toBe(true);
    const separate = new MultiHeadAttention(8, 2, { kdim: 6, vdim: 4, bias: false });
    expect(Object.keys(separate.stateDict())).toEqual([
      'q_proj_weight',
      'k_proj_weight',
      'v_proj_weight',
      'out_proj.weight',
    ]);
    expect(separate.kProjWeight!.shape).toEqual([8, 6]);
  });

  it('masks padded keys: a padded position never receives weight', () => {
    const mha = new MultiHeadAttention(8, 2, { seed: 1 });
    const x = randn([2, 5, 8], { seed: 2 });
    const pad = tensor([
      [false, false, false, false, true],
      [false, true, false, true, true],
    ]);
    const { weights } = mha.forward(x, x, x, { keyPaddingMask: pad, averageAttnWeights: false });
    expect(weights!.shape).toEqual([2, 2, 5, 5]);
    const w = arr(weights!);
    const padded = [[4], [1, 3, 4]];
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 2; h++)
        for (let i = 0; i < 5; i++)
          for (const j of padded[b]!) expect(w[((b * 2 + h) * 5 + i) * 5 + j]).toBe(0);
    // Changing a padded token's values does not change any output.
    const x2 = x.add(tensor([0, 0, 0, 0, 1]).reshape([1, 5, 1]).mul(100));
    const a = arr(mha.forward(x, x, x, { keyPaddingMask: pad }).output);
    const b = arr(mha.forward(x2, x2, x2, { keyPaddingMask: pad }).output);
    for (let i = 0; i < 4 * 8; i++) expect(b[i]).toBeCloseTo(a[i]!, 5); // batch 0, unpadded positions
  });

  it('causal attention never looks ahead: outputs do not depend on later tokens', () => {
    const mha = new MultiHeadAttention(8, 4, { seed: 3 });
    const x = randn([1, 6, 8], { seed: 4 });
    const later = x.add(tensor([0, 0, 0, 1, 1, 1]).reshape([1, 6, 1]).mul(5));
    const a = arr(mha.forward(x, x, x, { causal: true }).output);
    const b = arr(mha.forward(later, later, later, { causal: true }).output);
    for (let i = 0; i < 3 * 8; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
    expect(b.slice(3 * 8)).not.toEqual(a.slice(3 * 8));
  });

  it('accepts attnMask as [Lq, Lk], [B·H, Lq, Lk] and [B, H, Lq, Lk] with the same meaning', () => {
    const mha = new MultiHeadAttention(8, 2, { seed: 12 });
    const x = randn([2, 3, 8], { seed: 13 });
    const blocked = tensor([
      [false, true, true],
      [false, false, true],
      [false, false, false],
    ]);
    const a = arr(mha.forward(x, x, x, { attnMask: blocked }).output);
    const b = arr(mha.forward(x, x, x, { attnMask: blocked.unsqueeze(0).expand([4, 3, 3]) }).output);
    const c = arr(mha.forward(x, x, x, { attnMask: blocked.reshape([1, 1, 3, 3]) }).output);
    // A bool attnMask blocking everything above the diagonal is the causal mask.
    const d = arr(mha.forward(x, x, x, { causal: true }).output);
    a.forEach((v, i) => {
      expect(b[i]).toBeCloseTo(v, 6);
      expect(c[i]).toBeCloseTo(v, 6);
      expect(d[i]).toBeCloseTo(v, 5);
    });
  });

  it('batchFirst: false takes [L, B, E] and agrees with batch-first', () => {
    const a = new MultiHeadAttention(8, 2, { seed: 5 });
    const b = new MultiHeadAttention(8, 2, { seed: 5, batchFirst: false });
    const x = randn([2, 3, 8], { seed: 6 });
    const ya = a.forward(x, x, x).output;
    const xt = x.transpose(0, 1);
    const yb = b.forward(xt, xt, xt).output.transpose(0, 1);
    arr(yb).forEach((v, i) => {
      expect(v).toBeCloseTo(arr(ya)[i]!, 5);
    });
  });

  it('passes gradient checks (self, cross with kdim/vdim, with masks)', () => {
    const mha = new MultiHeadAttention(4, 2, { seed: 7 });
    const x = randn([2, 3, 4], { seed: 8 });
    const pad = tensor([
      [false, false, true],
      [false, false, false],
    ]);
    const loss = () => mha.forward(x, x, x, { keyPaddingMask: pad, causal: true }).output.tanh().mean();
    expect(gradCheckModule(mha, loss).ok).toBe(true);
    const cross = new MultiHeadAttention(4, 2, { kdim: 3, vdim: 5, seed: 9 });
    const k = randn([2, 4, 3], { seed: 10 });
    const v = randn([2, 4, 5], { seed: 11 });
    expect(gradCheckModule(cross, () => cross.forward(x, k, v).output.tanh().mean()).ok).toBe(true);
  });

  it('rejects bad widths, mask shapes and head counts with typed errors naming module and shapes', () => {
    expect(() => new MultiHeadAttention(10, 3)).toThrow(
      /MultiHeadAttention: embedDim 10 is not divisible by numHeads 3/,
    );
    expect(() => new MultiHeadAttention(8, 0)).toThrow(ArgumentError);
    const mha = new MultiHeadAttention(8, 2);
    const x = randn([2, 3, 8]);
    expect(() => mha.forward(randn([2, 3, 7]), x, x)).toThrow(
      /MultiHeadAttention: expected widths embedDim=8, kdim=8, vdim=8, got query \[2,3,7\]/,
    );
    expect(() => mha.forward(x, x, x, { keyPaddingMask: tensor([[false, true]]) })).toThrow(
      /keyPaddingMask must be \[B, Lk\] = \[2,3\], got \[1,2\]/,
    );
    expect(() => mha.forward(x, x, x, { attnMask: tensor([[false, true]]) })).toThrow(ShapeError);
    expect(() => mha.forward(randn([3, 8]), x, x)).toThrow(/rank 3/);
    expect(() => mha.forward(x, randn([1, 3, 8]), randn([1, 3, 8]))).toThrow(/batch sizes/);
  });
});

describe('CrossModalAttention', () => {
  it('attends from d1-wide tokens to d2-wide context (Q = X¹Wq, K = X²Wk, V = X²Wv)', () => {
    const xattn = new CrossModalAttention(8, 6, { numHeads: 2, seed: 0 });
    expect(Object.keys(xattn.stateDict())).toEqual([
      'attn.q_proj_weight',
      'attn.k_proj_weight',
      'attn.v_proj_weight',
      'attn.in_proj_bias',
      'attn.out_proj.weight',
      'attn.out_proj.bias',
    ]);
    const text = randn([2, 3, 8], { seed: 1 });
    const image = randn([2, 5, 6], { seed: 2 });
    const pad = tensor([
      [false, false, false, false, true],
      [false, false, false, false, false],
    ]);
    const { output, weights } = xattn.forward(text, image, { contextPaddingMask: pad, needWeights: true });
    expect(output.shape).toEqual([2, 3, 8]);
    expect(weights!.shape).toEqual([2, 3, 5]);
    // The padded context key (index 4 of batch 0) gets no weight from any query.
    const w = arr(weights!);
    for (let i = 0; i < 3; i++) expect(w[i * 5 + 4]).toBe(0);
    expect(
      gradCheckModule(xattn, () => xattn.forward(text, image).output.tanh().mean(), { maxEntries: 12 }).ok,
    ).toBe(true);
    expect(() => xattn.forward(text, randn([2, 5, 8]))).toThrow(/kdim=6/);
  });
});
