import {
  checkInRange,
  dropout,
  type Generator,
  generatorFrom,
  type RandomOptions,
  type Tensor,
} from '@polymodal/tensor';
import { Module } from './module.js';

/**
 * Inverted dropout (Srivastava et al. 2014, PyTorch `nn.Dropout`): in training, zeroes each element
 * with probability `p` and scales the rest by `1/(1−p)`; in eval mode it is the identity. The mask
 * comes from the layer's own generator (seeded by `seed`), so runs are reproducible.
 *
 * ```ts
 * const drop = new Dropout(0.1, { seed: 0 });
 * drop.forward(x);        // training: some zeros
 * drop.eval().forward(x); // identity
 * ```
 */
export class Dropout extends Module {
  readonly p: number;
  readonly generator: Generator;

  constructor(p = 0.5, options: RandomOptions = {}) {
    super();
    checkInRange('Dropout', 'p', p, 0, 1);
    this.p = p;
    this.generator = generatorFrom(options);
  }

  forward(x: Tensor): Tensor {
    // Eval mode (or p = 0) passes the input through without a copy.
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, { generator: this.generator, training: true });
  }

  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}
