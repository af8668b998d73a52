import {
  ArgumentError,
  checkPositiveInt,
  formatShape,
  groupNorm,
  ones,
  ShapeError,
  type Tensor,
  zeros,
} from '@polymodal/tensor';
import { Module } from './module.js';

export interface GroupNormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Learn a per-channel scale (`weight`, ones) and shift (`bias`, zeros). Default true. */
  affine?: boolean;
}

/**
 * Group normalization (Wu & He 2018, PyTorch `nn.GroupNorm`): the channels of `x [N, C, …]` are
 * split into `numGroups` groups, each sample's group normalized over its channels and positions,
 * then scaled and shifted per channel (`weight [C]`, `bias [C]`). No batch statistics, so it
 * behaves the same in train and eval mode and at batch size 1; `numGroups = 1` is a layer norm
 * over (C, H, W), `numGroups = C` an instance norm.
 *
 * ```ts
 * const gn = new GroupNorm(8, 32);
 * gn.forward(randn([2, 32, 16, 16])); // [2, 32, 16, 16]
 * ```
 */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Tensor | null = null;
  bias: Tensor | null = null;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    checkPositiveInt('GroupNorm', 'numGroups', numGroups);
    checkPositiveInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) {
      throw new ArgumentError(
        'GroupNorm',
        `numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`,
      );
    }
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    if (!(this.eps >= 0)) throw new ArgumentError('GroupNorm', `eps must be ≥ 0, got ${this.eps}`);
    this.affine = options.affine ?? true;
    if (this.affine) {
      this.weight = this.registerParameter('weight', ones([numChannels]));
      this.bias = this.registerParameter('bias', zeros([numChannels]));
    }
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError(
        'GroupNorm.forward',
        `input must be [N, C, …] with C = ${this.numChannels}, got ${formatShape(x.shape)}`,
      );
    }
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  protected override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`;
  }
}
