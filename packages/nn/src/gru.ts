import {
  ArgumentError,
  checkPositiveInt,
  generatorFrom,
  linear,
  type RandomOptions,
  scope,
  stack,
  type Tensor,
  where,
  zeros,
} from '@polymodal/tensor';
import { uniform_ } from './init.js';
import { Module } from './module.js';

export interface GRUOptions extends RandomOptions {
  /** Stacked layers; layer l > 0 reads layer l − 1's outputs. Default 1. */
  numLayers?: number;
  /** Learned biases `bias_ih_l*` and `bias_hh_l*`. Default true. */
  bias?: boolean;
}

export interface GRUForwardOptions {
  /**
   * `[B, T]` bool, true = real step (the HF convention). A sample's state stops changing after its
   * last real step, and its outputs there are zero: the same as PyTorch on a
   * `pack_padded_sequence` of right-padded input.
   */
  mask?: Tensor;
  /** Initial state `[numLayers, B, H]`. Default zeros. */
  h0?: Tensor;
}

export interface GRUOutput {
  /** Last layer's state after every step `[B, T, H]` (zero on masked steps). */
  output: Tensor;
  /** Every layer's state after its last real step `[numLayers, B, H]` (PyTorch's `h_n`). */
  hidden: Tensor;
}

/**
 * Gated recurrent unit (Cho et al. 2014), PyTorch `nn.GRU(batch_first=True)` with the same
 * parameter names (`weight_ih_l0 [3H, I]`, `weight_hh_l0 [3H, H]`, `bias_ih_l0`, `bias_hh_l0`;
 * gates in the order r, z, n) and initialisation U(±1/√H), so its state dicts load unchanged:
 *
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)    z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))    h' = (1 − z) ⊙ n + z ⊙ h
 *
 * The input projections of all steps run as one matrix product; only the recurrent one loops.
 * Reads a sequence in order, so "red … blue" and "blue … red" give different states — which a
 * mean of token embeddings with added positions cannot tell apart.
 *
 * ```ts
 * const gru = new GRU(16, 32, { seed: 0 });
 * const { output, hidden } = gru.forward(randn([4, 7, 16]), { mask }); // [4, 7, 32], [1, 4, 32]
 * ```
 */
export class GRU extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;

  constructor(inputSize: number, hiddenSize: number, options: GRUOptions = {}) {
    super();
    checkPositiveInt('GRU', 'inputSize', inputSize);
    checkPositiveInt('GRU', 'hiddenSize', hiddenSize);
    const layers = options.numLayers ?? 1;
    checkPositiveInt('GRU', 'numLayers', layers);
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = layers;
    this.bias = options.bias ?? true;
    const generator = generatorFrom(options);
    const bound = 1 / Math.sqrt(hiddenSize);
    for (let l = 0; l < layers; l++) {
      const shapes: [string, number[]][] = [
        [`weight_ih_l${l}`, [3 * hiddenSize, l === 0 ? inputSize : hiddenSize]],
        [`weight_hh_l${l}`, [3 * hiddenSize, hiddenSize]],
      ];
      if (this.bias) shapes.push([`bias_ih_l${l}`, [3 * hiddenSize]], [`bias_hh_l${l}`, [3 * hiddenSize]]);
      // PyTorch draws every parameter from U(±1/√H), in this order.
      for (const [name, shape] of shapes)
        uniform_(this.registerParameter(name, zeros(shape))!, -bound, bound, { generator });
    }
  }

  private parameter(name: string): Tensor | null {
    return name.startsWith('bias') && !this.bias ? null : this.getParameter(name);
  }

  /** `x [B, T, inputSize]` → `{ output [B, T, H], hidden [numLayers, B, H] }`. */
  override forward(x: Tensor, options: GRUForwardOptions = {}): GRUOutput {
    const op = 'GRU.forward';
    if (x.rank !== 3 || x.shape[2] !== this.inputSize)
      throw new ArgumentError(op, `x must be [batch, steps, ${this.inputSize}], got [${x.shape}]`);
    const [b, t] = x.shape as [number, number, number];
    const h = this.hiddenSize;
    const { mask, h0 } = options;
    if (mask && (mask.dtype !== 'bool' || mask.rank !== 2 || mask.shape[0] !== b || mask.shape[1] !== t))
      throw new ArgumentError(op, `mask must be bool [${b}, ${t}], got ${mask.dtype} [${mask.shape}]`);
    if (h0 && (h0.rank !== 3 || h0.shape[0] !== this.numLayers || h0.shape[1] !== b || h0.shape[2] !== h))
      throw new ArgumentError(op, `h0 must be [${this.numLayers}, ${b}, ${h}], got [${h0.shape}]`);
    return scope(() => {
      // [B, T, 1]: true on real steps.
      const keep = mask ? mask.unsqueeze(-1) : null;
      let input = x;
      const finals: Tensor[] = [];
      for (let l = 0; l < this.numLayers; l++) {
        const wHh = this.parameter(`weight_hh_l${l}`)!;
        const bHh = this.parameter(`bias_hh_l${l}`);
        // Every step's input projection at once: [B, T, 3H].
        const gatesX = linear(input, this.parameter(`weight_ih_l${l}`)!, this.parameter(`bias_ih_l${l}`));
        let state = h0 ? h0.narrow(0, l, 1).squeeze(0) : zeros([b, h]);
        const outputs: Tensor[] = [];
        for (let s = 0; s < t; s++) {
          const [xr, xz, xn] = gatesX.narrow(1, s, 1).squeeze(1).chunk(3, -1) as [Tensor, Tensor, Tensor];
          const [hr, hz, hn] = linear(state, wHh, bHh).chunk(3, -1) as [Tensor, Tensor, Tensor];
          const r = xr.add(hr).sigmoid();
          const z = xz.add(hz).sigmoid();
          const n = xn.add(r.mul(hn)).tanh();
          // h' = n + z ⊙ (h − n)
          let next = n.add(z.mul(state.sub(n)));
          if (keep) {
            const m = keep.narrow(1, s, 1).squeeze(1);
            next = where(m, next, state);
            outputs.push(where(m, next, 0));
          } else {
            outputs.push(next);
          }
          state = next;
        }
        finals.push(state);
        input = stack(outputs, 1);
      }
      return { output: input, hidden: stack(finals, 0) };
    });
  }

  protected override extraRepr(): string {
    return `inputSize=${this.inputSize}, hiddenSize=${this.hiddenSize}, numLayers=${this.numLayers}`;
  }
}
