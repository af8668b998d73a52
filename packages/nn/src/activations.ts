import { ArgumentError, type GeluOptions, gelu, relu, silu, type Tensor } from '@polymodal/tensor';
import { Module } from './module.js';

/**
 * `max(0, x)` (PyTorch `nn.ReLU`).
 *
 * ```ts
 * new ReLU().forward(tensor([-1, 2])); // [0, 2]
 * ```
 */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/**
 * Gaussian Error Linear Unit (Hendrycks & Gimpel 2016, PyTorch `nn.GELU`): exact `x·Φ(x)` by
 * default, or the tanh approximation with `{ approximate: 'tanh' }`.
 *
 * ```ts
 * new GELU().forward(tensor([1])); // [0.8413]
 * ```
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(options: GeluOptions = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
  }

  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

/**
 * Sigmoid Linear Unit / swish (Elfwing et al. 2017, PyTorch `nn.SiLU`): `x·σ(x)`.
 *
 * ```ts
 * new SiLU().forward(tensor([1])); // [0.7311]
 * ```
 */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** Activation names that `activationFrom` understands. */
export type ActivationName = 'relu' | 'gelu' | 'gelu_tanh' | 'silu';

/**
 * A fresh activation module by name (or from a factory), for layers that take an `activation` option.
 *
 * ```ts
 * activationFrom('gelu'); // new GELU()
 * ```
 */
export function activationFrom(activation: ActivationName | (() => Module)): Module {
  if (typeof activation === 'function') return activation();
  switch (activation) {
    case 'relu':
      return new ReLU();
    case 'gelu':
      return new GELU();
    case 'gelu_tanh':
      return new GELU({ approximate: 'tanh' });
    case 'silu':
      return new SiLU();
    default:
      throw new ArgumentError(
        'activation',
        `unknown activation '${activation}' (use relu, gelu, gelu_tanh, silu)`,
      );
  }
}
