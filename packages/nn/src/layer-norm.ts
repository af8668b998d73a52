import { ArgumentError, layerNorm, ones, type Tensor, zeros } from '@polymodal/tensor';
import { Module } from './module.js';

export interface LayerNormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Learn a per-element scale (ones) and shift (zeros). Default true. */
  elementwiseAffine?: boolean;
  /** With `elementwiseAffine`, also learn the shift. Default true. */
  bias?: boolean;
}

/**
 * Layer normalization (Ba et al. 2016, PyTorch `nn.LayerNorm`) over the trailing
 * `normalizedShape` dims: `(x − mean)/√(var + eps)·weight + bias`, biased variance.
 *
 * ```ts
 * const norm = new LayerNorm(64);
 * norm.forward(randn([2, 10, 64])); // [2, 10, 64], each row mean 0, variance 1
 * ```
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Tensor | null = null;
  bias: Tensor | null = null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (!this.normalizedShape.length || this.normalizedShape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new ArgumentError(
        'LayerNorm',
        `normalizedShape must be positive integers, got [${this.normalizedShape}]`,
      );
    }
    this.eps = options.eps ?? 1e-5;
    if (!(this.eps >= 0)) throw new ArgumentError('LayerNorm', `eps must be ≥ 0, got ${this.eps}`);
    if (options.elementwiseAffine ?? true) {
      this.weight = this.registerParameter('weight', ones(this.normalizedShape));
      if (options.bias ?? true) this.bias = this.registerParameter('bias', zeros(this.normalizedShape));
    }
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  protected override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}, elementwiseAffine=${this.weight !== null}`;
  }
}
