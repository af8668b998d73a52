import { ArgumentError, checkPositiveInt, type Tensor, tensor } from '@polymodal/tensor';

function checkDims(op: string, dims: Record<string, number>): void {
  for (const [k, v] of Object.entries(dims)) {
    checkPositiveInt(op, k, v);
  }
}

/**
 * Fixed sinusoidal position encodings (Vaswani et al. 2017, §3.5): `[length, dim]` with
 * `PE[p, 2i] = sin(p / 10000^(2i/dim))`, `PE[p, 2i+1] = cos(p / 10000^(2i/dim))`.
 *
 * ```ts
 * const pe = sinusoidalPositionalEncoding(128, 64); // [128, 64]
 * x = x.add(pe.narrow(0, 0, x.shape[1]));           // x [B, L, 64]
 * ```
 */
export function sinusoidalPositionalEncoding(length: number, dim: number): Tensor {
  checkDims('sinusoidalPositionalEncoding', { length, dim });
  const out = new Float32Array(length * dim);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < dim; i += 2) {
      const angle = p / 10000 ** (i / dim);
      out[p * dim + i] = Math.sin(angle);
      if (i + 1 < dim) out[p * dim + i + 1] = Math.cos(angle);
    }
  }
  return tensor(out, { shape: [length, dim] });
}

/** MAE's `get_1d_sincos_pos_embed_from_grid`: `[sin(p·ω), cos(p·ω)]`, ω_i = 1/10000^(i/(D/2)). */
function sinCos1d(dim: number, pos: number, out: Float32Array, at: number): void {
  const half = dim / 2;
  for (let i = 0; i < half; i++) {
    const angle = pos / 10000 ** (i / half);
    out[at + i] = Math.sin(angle);
    out[at + half + i] = Math.cos(angle);
  }
}

/**
 * Fixed 2-D sine-cosine position encodings for a `gridH × gridW` patch grid, exactly as MAE
 * (He et al. 2022) and ViT codebases build them (`get_2d_sincos_pos_embed`): `[gridH·gridW, dim]`,
 * patches in row-major order; the first `dim/2` channels encode the column, the rest the row, each
 * as `[sin…, cos…]`. `dim` must be divisible by 4.
 *
 * ```ts
 * const pos = sinCos2dPositionalEncoding(14, 14, 768); // [196, 768], add to PatchEmbedding output
 * ```
 */
export function sinCos2dPositionalEncoding(gridH: number, gridW: number, dim: number): Tensor {
  checkDims('sinCos2dPositionalEncoding', { gridH, gridW, dim });
  if (dim % 4 !== 0)
    throw new ArgumentError('sinCos2dPositionalEncoding', `dim must be divisible by 4, got ${dim}`);
  const out = new Float32Array(gridH * gridW * dim);
  for (let r = 0; r < gridH; r++) {
    for (let c = 0; c < gridW; c++) {
      const at = (r * gridW + c) * dim;
      sinCos1d(dim / 2, c, out, at);
      sinCos1d(dim / 2, r, out, at + dim / 2);
    }
  }
  return tensor(out, { shape: [gridH * gridW, dim] });
}
