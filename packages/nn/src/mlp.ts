import { ArgumentError, generatorFrom, type RandomOptions } from '@polymodal/tensor';
import { type ActivationName, activationFrom } from './activations.js';
import { Sequential } from './containers.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import type { Module } from './module.js';

export interface MLPOptions extends RandomOptions {
  /** Between hidden layers. Default `'relu'`. */
  activation?: ActivationName | (() => Module);
  /** Dropout probability after each activation and after the last layer. Default 0. */
  dropout?: number;
  /** Linear layers with bias. Default true. */
  bias?: boolean;
}

/**
 * A multi-layer perceptron laid out like torchvision's `ops.MLP`: for each hidden size but the last
 * `Linear → activation → Dropout`, then `Linear → Dropout`. `hiddenSizes` ends with the output size;
 * parameter names are `0.weight`, `3.weight`, … as in torchvision, so its state dicts load.
 *
 * ```ts
 * const mlp = new MLP(64, [256, 10], { activation: 'gelu', dropout: 0.1, seed: 0 });
 * mlp.forward(randn([8, 64])); // [8, 10]
 * ```
 */
export class MLP extends Sequential {
  constructor(inFeatures: number, hiddenSizes: readonly number[], options: MLPOptions = {}) {
    super();
    if (!hiddenSizes.length) throw new ArgumentError('MLP', 'hiddenSizes must name at least the output size');
    const generator = generatorFrom(options);
    const p = options.dropout ?? 0;
    let width = inFeatures;
    hiddenSizes.forEach((size, i) => {
      this.append(new Linear(width, size, { bias: options.bias ?? true, generator }));
      if (i < hiddenSizes.length - 1) this.append(activationFrom(options.activation ?? 'relu'));
      this.append(new Dropout(p, { generator }));
      width = size;
    });
  }
}
