import {
  generatorFrom,
  type HasProjectionSlots,
  Linear,
  Module,
  type ProjectionAdapter,
  type ProjectionSlot,
  xavierUniform_,
  zeros_,
} from '@polymodal/nn';
import {
  ArgumentError,
  checkInRange,
  checkPositiveInt,
  formatShape,
  type Generator,
  linear,
  type RandomOptions,
  ShapeError,
  scope,
  type Tensor,
  where,
  zeros,
} from '@polymodal/tensor';
import { assertTorchStyleMask } from './masks.js';
import { scaledDotProductAttention } from './scaled-dot-product-attention.js';

export interface MultiHeadAttentionOptions extends RandomOptions {
  /** Width of `key` inputs. Default `embedDim`. */
  kdim?: number;
  /** Width of `value` inputs. Default `embedDim`. */
  vdim?: number;
  /** Dropout on the attention weights (training only). Default 0. */
  dropout?: number;
  /** Biases on the input and output projections. Default true. */
  bias?: boolean;
  /** Inputs are `[batch, length, width]` (default true); false means `[length, batch, width]`. */
  batchFirst?: boolean;
}

export interface MultiHeadAttentionForwardOptions {
  /**
   * `[B, Lk]`: **true = padding** (ignored key), exactly as torch's `key_padding_mask`; a float
   * mask is added to the scores. From an attention mask (true/1 = real token, as `collate` and
   * Hugging Face give): `paddingMaskFromAttentionMask(mask)`. An int mask is refused (torch would
   * add it).
   */
  keyPaddingMask?: Tensor | null;
  /**
   * `[Lq, Lk]`, `[B·numHeads, Lq, Lk]` or `[B, numHeads | 1, Lq, Lk]`. As torch's `attn_mask`, a
   * bool mask means **true = not allowed**; a float mask is added.
   */
  attnMask?: Tensor | null;
  /** Query i attends only to keys j ≤ i. */
  causal?: boolean;
  /** Return the attention weights. Default true (like torch). */
  needWeights?: boolean;
  /** Average the weights over heads (`[B, Lq, Lk]`) rather than per head (`[B, H, Lq, Lk]`). Default true. */
  averageAttnWeights?: boolean;
}

/** Additive form of a torch-style mask: bool true (= blocked) → −1e30, float as is. */
function additive(mask: Tensor): Tensor {
  return mask.dtype === 'bool' ? where(mask, -1e30, 0) : mask;
}

type Which = 'q' | 'k' | 'v';
const WHICH: readonly Which[] = ['q', 'k', 'v'];

/**
 * Multi-head attention (Vaswani et al. 2017, §3.2.2; PyTorch `nn.MultiheadAttention`) for self- and
 * cross-attention: `query [B, Lq, E]`, `key [B, Lk, kdim]`, `value [B, Lk, vdim]` →
 * `output [B, Lq, E]` and the attention weights. Parameters keep torch's names (`in_proj_weight`,
 * `in_proj_bias` packed `[3E, E]` when kdim = vdim = E, else `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight`; then `out_proj.weight`, `out_proj.bias`), so a torch state dict loads as is.
 *
 * The q, k and v projections are also exposed as {@link ProjectionSlot}s named `q_proj`, `k_proj`,
 * `v_proj` (aliases `q`, `k`, `v`): an adapter attached to one (LoRA, via `applyLora`) is registered
 * as that submodule and its output is added to the projection's, while the packed weight stays.
 *
 * ```ts
 * const mha = new MultiHeadAttention(64, 8, { seed: 0 });
 * const { output, weights } = mha.forward(x, x, x, { keyPaddingMask: pad }); // [B, L, 64], [B, L, L]
 * mha.projectionSlots().map((s) => s.name); // ['q_proj', 'k_proj', 'v_proj']
 * ```
 */
export class MultiHeadAttention extends Module implements HasProjectionSlots {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly packed: boolean;
  readonly generator: Generator;
  inProjWeight: Tensor | null = null;
  qProjWeight: Tensor | null = null;
  kProjWeight: Tensor | null = null;
  vProjWeight: Tensor | null = null;
  inProjBias: Tensor | null = null;
  outProj: Linear;
  private readonly adapters: Record<Which, ProjectionAdapter | null> = { q: null, k: null, v: null };

  constructor(embedDim: number, numHeads: number, options: MultiHeadAttentionOptions = {}) {
    super();
    const name = 'MultiHeadAttention';
    for (const [k, v] of Object.entries({
      embedDim,
      numHeads,
      kdim: options.kdim ?? 1,
      vdim: options.vdim ?? 1,
    })) {
      checkPositiveInt(name, k, v);
    }
    if (embedDim % numHeads !== 0) {
      throw new ArgumentError(name, `embedDim ${embedDim} is not divisible by numHeads ${numHeads}`);
    }
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.dropout = options.dropout ?? 0;
    checkInRange(name, 'dropout', this.dropout, 0, 1, '[)');
    this.batchFirst = options.batchFirst ?? true;
    this.packed = this.kdim === embedDim && this.vdim === embedDim;
    this.generator = generatorFrom(options);
    const generator = this.generator;
    // torch's _reset_parameters: xavier_uniform_ on the projections, zero biases.
    if (this.packed) {
      this.inProjWeight = this.registerParameter('in_proj_weight', zeros([3 * embedDim, embedDim]));
      xavierUniform_(this.inProjWeight!, { generator });
    } else {
      this.qProjWeight = this.registerParameter('q_proj_weight', zeros([embedDim, embedDim]));
      this.kProjWeight = this.registerParameter('k_proj_weight', zeros([embedDim, this.kdim]));
      this.vProjWeight = this.registerParameter('v_proj_weight', zeros([embedDim, this.vdim]));
      for (const w of [this.qProjWeight, this.kProjWeight, this.vProjWeight])
        xavierUniform_(w!, { generator });
    }
    const bias = options.bias ?? true;
    if (bias) this.inProjBias = this.registerParameter('in_proj_bias', zeros([3 * embedDim]));
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias, generator }));
    if (this.outProj.bias) zeros_(this.outProj.bias);
  }

  /** The q, k, v projection weights (views of the packed one when packed). */
  private projections(): [Tensor, Tensor, Tensor] {
    if (this.inProjWeight) {
      const e = this.embedDim;
      const w = this.inProjWeight;
      return [w.narrow(0, 0, e), w.narrow(0, e, e), w.narrow(0, 2 * e, e)];
    }
    return [this.qProjWeight!, this.kProjWeight!, this.vProjWeight!];
  }

  /**
   * The q, k and v projections as slots for adapters: each names the parameter that holds its
   * weight (`in_proj_weight` rows `[0, E)`, `[E, 2E)`, `[2E, 3E)` when packed, else its own
   * `*_proj_weight`) and attaches an adapter as the submodule `q_proj` / `k_proj` / `v_proj`.
   *
   * ```ts
   * const [, , v] = mha.projectionSlots(); // v.rowOffset === 2 * embedDim when packed
   * ```
   */
  projectionSlots(): ProjectionSlot[] {
    const e = this.embedDim;
    const separate = [this.qProjWeight, this.kProjWeight, this.vProjWeight];
    const inFeatures = [e, this.kdim, this.vdim];
    return WHICH.map((which, i) => {
      const adapters = this.adapters;
      const attach = (adapter: ProjectionAdapter) => this.attachAdapter(which, adapter);
      return {
        name: `${which}_proj`,
        aliases: [which],
        inFeatures: inFeatures[i]!,
        outFeatures: e,
        weight: this.inProjWeight ?? separate[i]!,
        rowOffset: this.inProjWeight ? i * e : 0,
        get adapter() {
          return adapters[which];
        },
        attach,
      };
    });
  }

  private attachAdapter(which: Which, adapter: ProjectionAdapter): void {
    const name = `${which}_proj`;
    if (this.adapters[which]) this.setSubmodule(name, adapter);
    else this.registerModule(name, adapter);
    this.adapters[which] = adapter;
  }

  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: MultiHeadAttentionForwardOptions = {},
  ): { output: Tensor; weights: Tensor | null } {
    const name = 'MultiHeadAttention';
    const shapes = `query ${formatShape(query.shape)}, key ${formatShape(key.shape)}, value ${formatShape(value.shape)}`;
    if (query.rank !== 3 || key.rank !== 3 || value.rank !== 3) {
      throw new ShapeError(
        name,
        `query, key and value must be rank 3 (${this.batchFirst ? '[B, L, E]' : '[L, B, E]'}), got ${shapes}`,
      );
    }
    if (query.shape[2] !== this.embedDim || key.shape[2] !== this.kdim || value.shape[2] !== this.vdim) {
      throw new ShapeError(
        name,
        `expected widths embedDim=${this.embedDim}, kdim=${this.kdim}, vdim=${this.vdim}, got ${shapes}`,
      );
    }
    const bDim = this.batchFirst ? 0 : 1;
    const lDim = 1 - bDim;
    const [b, lq, lk] = [query.shape[bDim]!, query.shape[lDim]!, key.shape[lDim]!];
    if (key.shape[bDim] !== b || value.shape[bDim] !== b || value.shape[lDim] !== lk) {
      throw new ShapeError(name, `batch sizes and key/value lengths must agree, got ${shapes}`);
    }
    const { keyPaddingMask, attnMask, causal = false } = options;
    assertTorchStyleMask(name, 'keyPaddingMask', keyPaddingMask);
    assertTorchStyleMask(name, 'attnMask', attnMask);
    const h = this.numHeads;
    if (
      keyPaddingMask &&
      (keyPaddingMask.rank !== 2 || keyPaddingMask.shape[0] !== b || keyPaddingMask.shape[1] !== lk)
    ) {
      throw new ShapeError(
        name,
        `keyPaddingMask must be [B, Lk] = [${b},${lk}], got ${formatShape(keyPaddingMask.shape)}`,
      );
    }
    if (attnMask) {
      const s = attnMask.shape;
      const ok =
        (s.length === 2 && s[0] === lq && s[1] === lk) ||
        (s.length === 3 && s[0] === b * h && s[1] === lq && s[2] === lk) ||
        (s.length === 4 &&
          (s[0] === b || s[0] === 1) &&
          (s[1] === h || s[1] === 1) &&
          s[2] === lq &&
          s[3] === lk);
      if (!ok) {
        throw new ShapeError(
          name,
          `attnMask must be [Lq, Lk] = [${lq},${lk}], [B·numHeads, Lq, Lk] = [${b * h},${lq},${lk}] or [B, numHeads, Lq, Lk], got ${formatShape(s)}`,
        );
      }
    }
    return scope(() => {
      const [q0, k0, v0] = this.batchFirst
        ? [query, key, value]
        : [query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)];
      const [wq, wk, wv] = this.projections();
      const e = this.embedDim;
      const bias = this.inProjBias;
      const heads = (x: Tensor, l: number) => x.reshape([b, l, h, this.headDim]).permute([0, 2, 1, 3]);
      const project = (x: Tensor, w: Tensor, i: number) => {
        const y = linear(x, w, bias?.narrow(0, i * e, e));
        const update = this.adapters[WHICH[i]!]?.forward(x);
        return update ? y.add(update) : y;
      };
      const q = heads(project(q0, wq, 0), lq);
      const k = heads(project(k0, wk, 1), lk);
      const v = heads(project(v0, wv, 2), lk);
      let mask: Tensor | null = null;
      if (attnMask) {
        const m = additive(attnMask);
        mask = m.rank === 3 ? m.reshape([b, h, lq, lk]) : m;
      }
      if (keyPaddingMask) {
        const pad = additive(keyPaddingMask).reshape([b, 1, 1, lk]);
        mask = mask ? mask.add(pad) : pad;
      }
      const attn = scaledDotProductAttention(q, k, v, {
        mask,
        causal,
        dropout: this.training ? this.dropout : 0,
        generator: this.generator,
        returnWeights: options.needWeights ?? true,
      });
      const merged = attn.output.permute([0, 2, 1, 3]).reshape([b, lq, e]);
      let output = this.outProj.forward(merged);
      if (!this.batchFirst) output = output.transpose(0, 1);
      let weights: Tensor | null = null;
      if (attn.weights) weights = (options.averageAttnWeights ?? true) ? attn.weights.mean(1) : attn.weights;
      return { output, weights };
    });
  }

  protected override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, kdim=${this.kdim}, vdim=${this.vdim}`;
  }
}
