import {
  ArgumentError,
  checkPositiveInt,
  embedding,
  generatorFrom,
  noGrad,
  type RandomOptions,
  scope,
  type Tensor,
  tensor,
  where,
  zeros,
} from '@polymodal/tensor';
import { normal_ } from './init.js';
import { Module } from './module.js';

export interface EmbeddingOptions extends RandomOptions {
  /** This row starts at zero and gets no gradient (PyTorch `padding_idx`); negative counts from the end. */
  paddingIdx?: number;
}

/**
 * A lookup table (PyTorch `nn.Embedding`): int32 `indices [...]` → `[..., dim]`, `weight [num, dim]`
 * initialised N(0, 1); the `paddingIdx` row is zeroed and never receives gradient.
 *
 * ```ts
 * const emb = new Embedding(1000, 64, { paddingIdx: 0, seed: 0 });
 * emb.forward(tensor([[5, 7, 0]], { dtype: 'int32' })); // [1, 3, 64]
 * ```
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    checkPositiveInt('Embedding', 'numEmbeddings', numEmbeddings);
    checkPositiveInt('Embedding', 'embeddingDim', embeddingDim);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let pad = options.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings) {
        throw new ArgumentError(
          'Embedding',
          `paddingIdx must be an integer in [${-numEmbeddings}, ${numEmbeddings}), got ${pad}`,
        );
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.weight = this.registerParameter('weight', zeros([numEmbeddings, embeddingDim]))!;
    normal_(this.weight, 0, 1, { generator: generatorFrom(options) });
    if (pad !== null) {
      const values = this.weight.dataSync() as Float32Array;
      values.fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
      noGrad(() =>
        scope(() => {
          this.weight.assign(tensor(values, { shape: this.weight.shape }));
        }),
      );
    }
  }

  forward(indices: Tensor): Tensor {
    const pad = this.paddingIdx;
    if (pad === null) return embedding(indices, this.weight);
    return scope(() => {
      const out = embedding(indices, this.weight);
      // Padding positions read the row without recording it, so that row gets no gradient.
      return where(indices.eq(pad).unsqueeze(-1), out.detach(), out);
    });
  }

  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? '' : `, paddingIdx=${this.paddingIdx}`}`;
  }
}
