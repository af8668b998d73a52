import {
  ArgumentError,
  batchNorm,
  checkPositiveInt,
  formatShape,
  noGrad,
  ones,
  ShapeError,
  scope,
  type Tensor,
  zeros,
} from '@polymodal/tensor';
import { Module } from './module.js';

export interface BatchNormModuleOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /**
   * Weight of each batch in the running statistics, `r ← (1 − momentum)·r + momentum·batch`.
   * Default 0.1; `null` keeps a cumulative average over every batch so far (factor 1/t).
   */
  momentum?: number | null;
  /** Learn a per-channel scale (`weight`, ones) and shift (`bias`, zeros). Default true. */
  affine?: boolean;
  /**
   * Keep running statistics (buffers `running_mean`, `running_var`, `num_batches_tracked`) and
   * normalize with them in eval mode. Without, batch statistics are used in both modes. Default true.
   */
  trackRunningStats?: boolean;
}

/**
 * Batch normalization (Ioffe & Szegedy 2015), the shared core of `BatchNorm1d` and `BatchNorm2d`
 * (PyTorch's `_BatchNorm`): per channel of `x [N, C, …]`, `(x − mean) / √(var + eps)·weight + bias`.
 * In training mode the statistics are the batch's (biased variance) and the running ones are
 * updated (unbiased variance); in eval mode the running ones are used. State-dict names are
 * PyTorch's: `weight`, `bias`, and the buffers `running_mean`, `running_var`, `num_batches_tracked`
 * (int32 here, int64 in PyTorch; loading converts). Fused kernels on cpu and wasm.
 *
 * ```ts
 * const bn = new BatchNorm2d(16);
 * bn.forward(randn([8, 16, 32, 32])); // train mode: batch statistics, running ones updated
 * bn.eval().forward(x);                // running statistics
 * ```
 */
export abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  /** Mutable, as in PyTorch (`updateBatchNorm` switches it to the cumulative average for a while). */
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Tensor | null = null;
  bias: Tensor | null = null;
  /** `running_mean [C]` (zeros at start), or null without `trackRunningStats`. */
  runningMean: Tensor | null = null;
  /** `running_var [C]` (ones at start), or null without `trackRunningStats`. */
  runningVar: Tensor | null = null;
  /** `num_batches_tracked`, an int32 scalar counting training batches, or null. */
  numBatchesTracked: Tensor | null = null;

  constructor(numFeatures: number, options: BatchNormModuleOptions = {}) {
    super();
    const op = new.target.name;
    checkPositiveInt(op, 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    if (!(this.eps >= 0)) throw new ArgumentError(op, `eps must be ≥ 0, got ${this.eps}`);
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new ArgumentError(op, `momentum must be in [0, 1] or null, got ${this.momentum}`);
    }
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    if (this.affine) {
      this.weight = this.registerParameter('weight', ones([numFeatures]));
      this.bias = this.registerParameter('bias', zeros([numFeatures]));
    }
    if (this.trackRunningStats) {
      this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
      this.runningVar = this.registerBuffer('running_var', ones([numFeatures]));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int32' }));
    } else {
      // Registered as absent, as PyTorch does: not in the state dict, nothing to load.
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
  }

  /** The ranks this variant accepts (`[2, 3]` for 1d, `[4]` for 2d), for the error message. */
  protected abstract readonly ranks: readonly number[];
  protected abstract readonly form: string;

  /** Running statistics back to mean 0, variance 1, no batches. */
  resetRunningStats(): void {
    noGrad(() =>
      scope(() => {
        this.runningMean?.assign(zeros([this.numFeatures]));
        this.runningVar?.assign(ones([this.numFeatures]));
        this.numBatchesTracked?.assign(zeros([], { dtype: 'int32' }));
      }),
    );
  }

  forward(x: Tensor): Tensor {
    const op = `${this.constructor.name}.forward`;
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(
        op,
        `input must be ${this.form} with C = ${this.numFeatures}, got ${formatShape(x.shape)}`,
      );
    }
    return this.normalize(x);
  }

  /**
   * The same normalization of channels-last input `[…, C]` (e.g. `[N, H, W, C]`): per channel
   * across every other axis, with the same parameters and running statistics as `forward` on the
   * channels-first tensor. For convolutions computed channels-last (`conv2dNhwc`), so no transpose
   * is needed around the norm.
   *
   * ```ts
   * bn.forwardChannelsLast(randn([8, 16, 16, 24])); // BatchNorm2d(24) over [8, 16, 16, 24]
   * ```
   */
  forwardChannelsLast(x: Tensor): Tensor {
    const op = `${this.constructor.name}.forwardChannelsLast`;
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.numFeatures) {
      throw new ShapeError(
        op,
        `input must be [..., C] with C = ${this.numFeatures}, got ${formatShape(x.shape)}`,
      );
    }
    return scope(() => this.normalize(x.reshape(-1, this.numFeatures)).reshape(...x.shape));
  }

  private normalize(x: Tensor): Tensor {
    let momentum = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      const counter = this.numBatchesTracked;
      // A block body: a scope returning the kept buffer would hand it to the caller's scope.
      noGrad(() =>
        scope(() => {
          counter.assign(counter.add(1));
        }),
      );
      // PyTorch's cumulative moving average: the t-th batch gets weight 1/t.
      if (this.momentum === null) momentum = 1 / counter.item();
    }
    return batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      // Without running statistics, eval mode normalizes with the batch's too.
      training: this.training || !this.runningMean,
      momentum,
      eps: this.eps,
    });
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/**
 * Batch normalization over `[N, C]` or `[N, C, L]` (PyTorch `nn.BatchNorm1d`); see `BatchNorm`.
 *
 * ```ts
 * new BatchNorm1d(64).forward(randn([32, 64])); // [32, 64]
 * ```
 */
export class BatchNorm1d extends BatchNorm {
  protected readonly ranks = [2, 3];
  protected readonly form = '[N, C] or [N, C, L]';
}

/**
 * Batch normalization over `[N, C, H, W]` (PyTorch `nn.BatchNorm2d`), per channel across N, H and
 * W; see `BatchNorm`. The usual conv block: `Conv2d(…, { bias: false })` → `BatchNorm2d` → ReLU.
 *
 * ```ts
 * const bn = new BatchNorm2d(24);
 * bn.forward(randn([64, 24, 32, 32])); // [64, 24, 32, 32]
 * bn.stateDict(); // weight, bias, running_mean, running_var, num_batches_tracked
 * ```
 */
export class BatchNorm2d extends BatchNorm {
  protected readonly ranks = [4];
  protected readonly form = '[N, C, H, W]';
}
