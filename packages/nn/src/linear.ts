import {
  checkPositiveInt,
  generatorFrom,
  linear,
  type RandomOptions,
  type Tensor,
  zeros,
} from '@polymodal/tensor';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';

export interface LinearOptions extends RandomOptions {
  /** Add a learned bias. Default true. */
  bias?: boolean;
}

/**
 * Affine map `y = x·Wᵀ + b` (PyTorch `nn.Linear`): `x [..., in]` → `[..., out]`, `weight [out, in]`,
 * `bias [out]`. Initialised like PyTorch: `kaimingUniform_(W, { a: √5 })` (so U(±1/√in)) and
 * `b ~ U(±1/√in)`.
 *
 * ```ts
 * const fc = new Linear(4, 2, { seed: 0 });
 * fc.forward(randn([8, 4])); // [8, 2]
 * ```
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkPositiveInt('Linear', 'inFeatures', inFeatures);
    checkPositiveInt('Linear', 'outFeatures', outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter('weight', zeros([outFeatures, inFeatures]))!;
    const generator = generatorFrom(options);
    kaimingUniform_(this.weight, { generator, a: Math.sqrt(5) });
    this.bias = null;
    if (options.bias ?? true) {
      const bound = 1 / Math.sqrt(inFeatures);
      this.bias = this.registerParameter('bias', zeros([outFeatures]));
      uniform_(this.bias!, -bound, bound, { generator });
    }
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
