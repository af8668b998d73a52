import {
  avgPool2d,
  checkPositiveInt,
  type GlobalPoolOptions,
  globalAvgPool2d,
  globalMaxPool2d,
  maxPool2d,
  type Pool2dOptions,
  type Tensor,
} from '@polymodal/tensor';
import { Module } from './module.js';

type Pair = number | readonly [number, number];
const pairOf = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Window pooling's shared options and repr. */
abstract class Pool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(kernelSize: Pair, options: Pool2dOptions = {}) {
    super();
    this.kernelSize = pairOf(kernelSize);
    this.stride = pairOf(options.stride ?? kernelSize);
    this.padding = pairOf(options.padding ?? 0);
    for (const k of [...this.kernelSize, ...this.stride])
      checkPositiveInt(new.target.name, 'kernelSize and stride', k);
  }

  protected override extraRepr(): string {
    return `kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${this.padding}`;
  }
}

/**
 * Max pooling over windows (PyTorch `nn.MaxPool2d`, dilation 1): `[N, C, H, W] → [N, C, OH, OW]`;
 * the stride defaults to the window size.
 *
 * ```ts
 * new MaxPool2d(2).forward(randn([1, 8, 32, 32])); // [1, 8, 16, 16]
 * ```
 */
export class MaxPool2d extends Pool2d {
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

/**
 * Average pooling over windows (PyTorch `nn.AvgPool2d`; padding counts as zeros): `[N, C, H, W] →
 * [N, C, OH, OW]`; the stride defaults to the window size.
 *
 * ```ts
 * new AvgPool2d(2).forward(randn([1, 8, 32, 32])); // [1, 8, 16, 16]
 * ```
 */
export class AvgPool2d extends Pool2d {
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

abstract class GlobalPool2d extends Module {
  readonly keepDim: boolean;

  constructor(options: GlobalPoolOptions = {}) {
    super();
    this.keepDim = options.keepDim ?? false;
  }

  protected override extraRepr(): string {
    return `keepDim=${this.keepDim}`;
  }
}

/**
 * Global average pooling (Lin et al. 2014): each channel's mean over H and W, `[N, C, H, W] →
 * [N, C]`, or `[N, C, 1, 1]` with `keepDim` (PyTorch's `AdaptiveAvgPool2d(1)`).
 *
 * ```ts
 * new GlobalAvgPool2d().forward(randn([8, 64, 7, 7])); // [8, 64]
 * ```
 */
export class GlobalAvgPool2d extends GlobalPool2d {
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x, { keepDim: this.keepDim });
  }
}

/**
 * Global max pooling: each channel's largest value over H and W, `[N, C, H, W] → [N, C]`, or
 * `[N, C, 1, 1]` with `keepDim` (PyTorch's `AdaptiveMaxPool2d(1)`).
 *
 * ```ts
 * new GlobalMaxPool2d().forward(randn([8, 64, 7, 7])); // [8, 64]
 * ```
 */
export class GlobalMaxPool2d extends GlobalPool2d {
  forward(x: Tensor): Tensor {
    return globalMaxPool2d(x, { keepDim: this.keepDim });
  }
}
