import {
  checkPositiveInt,
  conv2d,
  conv2dNhwc,
  generatorFrom,
  type RandomOptions,
  type Tensor,
  zeros,
} from '@polymodal/tensor';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';

type Pair = number | readonly [number, number];

export interface Conv2dModuleOptions extends RandomOptions {
  stride?: Pair;
  padding?: Pair;
  /** Add a learned per-channel bias. Default true. */
  bias?: boolean;
}

const pairOf = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/**
 * 2-D convolution layer (PyTorch `nn.Conv2d`, groups = dilation = 1): `x [N, inC, H, W]` →
 * `[N, outC, OH, OW]`, `weight [outC, inC, kh, kw]`, `bias [outC]`. PyTorch's default init:
 * `kaimingUniform_(W, { a: √5 })` and `b ~ U(±1/√fanIn)` with `fanIn = inC·kh·kw`.
 *
 * ```ts
 * const conv = new Conv2d(3, 16, 3, { padding: 1, seed: 0 });
 * conv.forward(randn([2, 3, 32, 32])); // [2, 16, 32, 32]
 * ```
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  weight: Tensor;
  bias: Tensor | null = null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dModuleOptions = {}) {
    super();
    checkPositiveInt('Conv2d', 'inChannels', inChannels);
    checkPositiveInt('Conv2d', 'outChannels', outChannels);
    this.kernelSize = pairOf(kernelSize);
    this.kernelSize.forEach((k) => {
      checkPositiveInt('Conv2d', 'kernelSize', k);
    });
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.stride = pairOf(options.stride ?? 1);
    this.padding = pairOf(options.padding ?? 0);
    const generator = generatorFrom(options);
    this.weight = this.registerParameter('weight', zeros([outChannels, inChannels, ...this.kernelSize]))!;
    kaimingUniform_(this.weight, { generator, a: Math.sqrt(5) });
    if (options.bias ?? true) {
      const bound = 1 / Math.sqrt(inChannels * this.kernelSize[0] * this.kernelSize[1]);
      this.bias = this.registerParameter('bias', zeros([outChannels]));
      uniform_(this.bias!, -bound, bound, { generator });
    }
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }

  /**
   * The same convolution over channels-last input, `[N, H, W, C] → [N, OH, OW, O]` (`conv2dNhwc`):
   * for features kept as cells `[N, H·W, C]`, which then need no transposes around the convolution.
   *
   * ```ts
   * const y = new Conv2d(32, 32, 3, { padding: 1 }).forwardNhwc(cells.reshape(n, 8, 8, 32)); // [n, 8, 8, 32]
   * ```
   */
  forwardNhwc(x: Tensor): Tensor {
    return conv2dNhwc(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${this.padding}`;
  }
}
