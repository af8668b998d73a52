import { generatorFrom, Module, truncNormal_ } from '@polymodal/nn';
import {
  checkPositiveInt,
  formatShape,
  type RandomOptions,
  ShapeError,
  scope,
  type Tensor,
  zeros,
} from '@polymodal/tensor';

export interface LearnedPositionalEmbeddingOptions extends RandomOptions {
  /** Standard deviation of the truncated-normal init (BERT/ViT use 0.02). Default 0.02. */
  std?: number;
}

/**
 * Trainable absolute position embeddings (BERT, ViT): `weight [maxLength, dim]`, initialised
 * N(0, std²) truncated to ±2. `forward(x [B, L, dim])` returns `x + weight[:L]`.
 *
 * ```ts
 * const pos = new LearnedPositionalEmbedding(512, 64, { seed: 0 });
 * pos.forward(tokens); // [B, L, 64]
 * ```
 */
export class LearnedPositionalEmbedding extends Module {
  readonly maxLength: number;
  readonly dim: number;
  weight: Tensor;

  constructor(maxLength: number, dim: number, options: LearnedPositionalEmbeddingOptions = {}) {
    super();
    for (const [k, v] of Object.entries({ maxLength, dim })) {
      checkPositiveInt('LearnedPositionalEmbedding', k, v);
    }
    this.maxLength = maxLength;
    this.dim = dim;
    this.weight = this.registerParameter('weight', zeros([maxLength, dim]))!;
    const std = options.std ?? 0.02;
    truncNormal_(this.weight, 0, std, -2 * std, 2 * std, { generator: generatorFrom(options) });
  }

  /** The first `length` position vectors, `[length, dim]`. */
  positions(length: number): Tensor {
    if (!Number.isInteger(length) || length < 1 || length > this.maxLength) {
      throw new ShapeError(
        'LearnedPositionalEmbedding',
        `length ${length} must be in [1, ${this.maxLength}]`,
      );
    }
    return this.weight.narrow(0, 0, length);
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape.at(-1) !== this.dim) {
      throw new ShapeError(
        'LearnedPositionalEmbedding',
        `input must be [..., L, ${this.dim}], got ${formatShape(x.shape)}`,
      );
    }
    return scope(() => x.add(this.positions(x.shape.at(-2)!)));
  }
}
