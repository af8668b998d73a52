import {
  broadcastShapes,
  checkInRange,
  DTypeError,
  dropout as dropoutOp,
  formatShape,
  type Generator,
  logicalAnd,
  matmul,
  matmulTransposed,
  ShapeError,
  scope,
  type Tensor,
  tensor,
  where,
} from '@polymodal/tensor';

export interface ScaledDotProductAttentionOptions {
  /**
   * Which keys each query may attend to, broadcastable to `[..., Lq, Lk]`. A bool mask means
   * **true = attend**: Polymodal's convention for attention masks (Hugging Face's
   * `attention_mask`, `collate`'s `attentionMask`, fusion masks) and exactly PyTorch's
   * `F.scaled_dot_product_attention`; a `[B, Lk]` attention mask applies as `mask.reshape([B, 1, 1, Lk])`.
   * (`MultiHeadAttention`'s `keyPaddingMask`/`attnMask` mirror torch's module and mean the
   * opposite.) A float mask is added to the scores (use −Infinity or a large negative number to block).
   */
  mask?: Tensor | null;
  /** Query i attends only to keys j ≤ i (needs Lq ≤ Lk; aligned at the start, like torch). */
  causal?: boolean;
  /** Dropout probability on the attention weights. Default 0. */
  dropout?: number;
  /** Score scale. Default `1/√d`. */
  scale?: number;
  /** Generator for the dropout mask. */
  generator?: Generator;
  /** Also return the attention weights `[..., Lq, Lk]` (after dropout, like torch's MHA). */
  returnWeights?: boolean;
}

/** Masked scores get this instead of −∞: a fully masked row then stays finite (and is zeroed). */
const BLOCKED = -1e30;

/**
 * `softmax(q·kᵀ·scale + mask)·v` (Vaswani et al. 2017, §3.2.1): `q [..., Lq, d]`, `k [..., Lk, d]`,
 * `v [..., Lk, dv]` → `output [..., Lq, dv]` (batch dims broadcast). A query whose keys are all
 * masked gets zero weights and a zero output (never NaN).
 *
 * ```ts
 * const q = randn([2, 4, 5, 8]); // [batch, heads, Lq, d]
 * const { output, weights } = scaledDotProductAttention(q, k, v, { causal: true, returnWeights: true });
 * // output [2, 4, 5, dv], weights [2, 4, 5, Lk]
 * ```
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): { output: Tensor; weights?: Tensor } {
  const op = 'scaledDotProductAttention';
  if (q.rank < 2 || k.rank < 2 || v.rank < 2) {
    throw new ShapeError(
      op,
      `q, k, v need rank ≥ 2, got q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`,
    );
  }
  const [lq, d] = [q.shape.at(-2)!, q.shape.at(-1)!];
  const lk = k.shape.at(-2)!;
  if (k.shape.at(-1) !== d) {
    throw new ShapeError(
      op,
      `q ${formatShape(q.shape)} and k ${formatShape(k.shape)} must share the last dim`,
    );
  }
  if (v.shape.at(-2) !== lk) {
    throw new ShapeError(
      op,
      `k ${formatShape(k.shape)} and v ${formatShape(v.shape)} must have the same length Lk`,
    );
  }
  const batch = broadcastShapes(op, q.shape.slice(0, -2), k.shape.slice(0, -2), v.shape.slice(0, -2));
  const { mask, causal = false, dropout = 0 } = options;
  checkInRange(op, 'dropout', dropout, 0, 1, '[)');
  const scale = options.scale ?? 1 / Math.sqrt(d);
  if (mask) {
    if (mask.dtype === 'int32')
      throw new DTypeError(
        op,
        'mask must be bool (true = attend) or float (additive), got int32; an int 1/0 attention mask converts with mask.bool()',
      );
    const target = [...batch, lq, lk];
    const offset = target.length - mask.rank;
    if (offset < 0 || mask.shape.some((dim, i) => dim !== 1 && dim !== target[offset + i])) {
      throw new ShapeError(
        op,
        `mask ${formatShape(mask.shape)} does not broadcast to ${formatShape(target)}`,
      );
    }
  }
  if (causal && lq > lk)
    throw new ShapeError(op, `causal attention needs Lq ≤ Lk, got Lq ${lq} and Lk ${lk}`);
  return scope(() => {
    const scores = matmulTransposed(q, k, false, true).mul(scale);
    // Every mask becomes one additive bias at the mask's own (small) shape, e.g. [B, 1, 1, Lk]:
    // 0 where allowed, BLOCKED where not, so the full [B, H, Lq, Lk] scores take one broadcast add
    // (a SIMD pass on the wasm backend) instead of a full-size where. In float32, s + BLOCKED is
    // BLOCKED for any |s| < 1e22, so this equals masking the scores themselves.
    let allowed: Tensor | null = null;
    let bias: Tensor | null = null;
    if (mask?.dtype === 'bool') allowed = mask;
    else if (mask) {
      // −∞ entries become a large finite negative, so a fully blocked row cannot produce NaN.
      bias = mask.maximum(BLOCKED);
      allowed = mask.gt(BLOCKED / 2);
    }
    if (causal) {
      const tri = new Uint8Array(lq * lk);
      for (let i = 0; i < lq; i++) for (let j = 0; j <= i; j++) tri[i * lk + j] = 1;
      const causalMask = tensor(tri, { shape: [lq, lk], dtype: 'bool' });
      allowed = allowed ? logicalAnd(allowed, causalMask) : causalMask;
    }
    let weights: Tensor;
    if (allowed) {
      bias = where(allowed, bias ?? 0, BLOCKED);
      weights = scores.add(bias).softmax(-1);
      // A row with no allowed key would be uniform after softmax; zero it instead.
      weights = weights.mul(allowed.float().max(-1, true));
    } else weights = scores.softmax(-1);
    if (dropout > 0) weights = dropoutOp(weights, dropout, { generator: options.generator });
    const output = matmul(weights, v);
    return options.returnWeights ? { output, weights } : { output };
  });
}
