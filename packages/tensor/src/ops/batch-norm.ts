import { ENGINE, getBackend, noGrad, scope } from '../engine.js';
import { ArgumentError, ShapeError } from '../errors/index.js';
import { getKernel } from '../kernel-registry.js';
import { formatShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertDType, assertTensor, checkInRange } from '../validation.js';
import { ones, zeros } from './creation.js';
import { mean, variance } from './reduce.js';
import { reshape } from './shape-ops.js';

export interface BatchNormOptions {
  /**
   * Normalize with this batch's statistics and update the running ones (when given); otherwise
   * normalize with the running statistics. Default false, as in PyTorch's `F.batch_norm`.
   */
  training?: boolean;
  /** Weight of the batch statistics in the running-average update. Default 0.1. */
  momentum?: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

function checkChannelTensor(op: string, name: string, t: Tensor | null | undefined, c: number): void {
  if (t === null || t === undefined) return;
  assertTensor(op, name, t);
  assertDType(op, name, t, 'float32');
  if (t.rank !== 1 || t.shape[0] !== c) {
    throw new ShapeError(op, `${name} ${formatShape(t.shape)} must be [${c}], one value per channel`);
  }
}

/** Whether the current backend registers the fused batch-norm kernels (else the op is composed). */
const fused = (): boolean => {
  const backend = getBackend();
  return ['BatchNormStats', 'BatchNormTrain', 'BatchNormParamGrad', 'BatchNormGrad'].every(
    (k) => getKernel(k as 'BatchNormTrain', backend) !== undefined,
  );
};

/**
 * Batch normalization (Ioffe & Szegedy 2015), PyTorch's `F.batch_norm`: `x [N, C, …]` is
 * normalized per channel, `(x − mean) / √(var + eps) · weight + bias`. In training the statistics
 * are this batch's over N and every trailing axis (biased variance), and `runningMean` /
 * `runningVar` (if given) are updated in place: `r ← (1 − momentum)·r + momentum·s`, with the
 * unbiased variance. In evaluation the running statistics are used. Runs fused kernels where the
 * backend registers them (cpu, wasm) and the same formula composed from primitives elsewhere.
 *
 * ```ts
 * const rm = zeros([16]), rv = ones([16]);
 * const y = batchNorm(randn([8, 16, 32, 32]), rm, rv, weight, bias, { training: true }); // [8, 16, 32, 32]
 * batchNorm(x, rm, rv, weight, bias); // evaluation: uses rm and rv
 * ```
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  const op = 'batchNorm';
  assertTensor(op, 'input', x);
  assertDType(op, 'input', x, 'float32');
  if (x.rank < 2) throw new ShapeError(op, `input must be [N, C, …], got ${formatShape(x.shape)}`);
  const training = options.training ?? false;
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  if (!(eps >= 0)) throw new ArgumentError(op, `eps must be ≥ 0, got ${eps}`);
  checkInRange(op, 'momentum', momentum, 0, 1);
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  for (const [name, t] of [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    checkChannelTensor(op, name, t, c);
  }
  if ((runningMean === null) !== (runningVar === null)) {
    throw new ArgumentError(op, 'runningMean and runningVar must be given together (or both null)');
  }
  const l = sizeOf(x.shape) / Math.max(1, n * c);
  // A channel's spatial axes flattened: the kernels see [N, C, L].
  const channelShape = x.shape.map((_, i) => (i === 1 ? c : 1));
  if (!training) {
    if (!runningMean || !runningVar) {
      throw new ArgumentError(op, 'evaluation needs runningMean and runningVar (or training: true)');
    }
    return scope(() => {
      // x·scale + shift with scale = w / √(rv + eps), shift = b − rm·scale: two passes over x.
      let scale = runningVar.add(eps).rsqrt();
      if (weight) scale = scale.mul(weight);
      let shift = runningMean.mul(scale).neg();
      if (bias) shift = shift.add(bias);
      return x.mul(reshape(scale, channelShape)).add(reshape(shift, channelShape));
    });
  }
  const m = n * l;
  if (m <= 1) {
    throw new ShapeError(
      op,
      `expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`,
    );
  }
  return scope(() => {
    const x3 = reshape(x, [n, c, l]);
    let y: Tensor;
    let batchMean: Tensor;
    let batchVar: Tensor;
    if (fused()) {
      const stats = noGrad(() => ENGINE.runKernel('BatchNormStats', [x3], {}));
      y = ENGINE.runKernel('BatchNormTrain', [x3, weight ?? ones([c]), bias ?? zeros([c]), stats], { eps });
      [batchMean, batchVar] = [reshape(stats.slice(0, 0, 1), [c]), reshape(stats.slice(0, 1, 2), [c])];
    } else {
      const mu = mean(x3, [0, 2], true);
      const v = variance(x3, [0, 2], { correction: 0, keepDim: true });
      y = x3.sub(mu).mul(v.add(eps).rsqrt());
      if (weight) y = y.mul(reshape(weight, [c, 1]));
      if (bias) y = y.add(reshape(bias, [c, 1]));
      [batchMean, batchVar] = [reshape(mu, [c]), reshape(v, [c])];
    }
    if (runningMean && runningVar) {
      noGrad(() => {
        runningMean.assign(runningMean.mul(1 - momentum).add(batchMean.mul(momentum)));
        runningVar.assign(runningVar.mul(1 - momentum).add(batchVar.mul((momentum * m) / (m - 1))));
      });
    }
    return reshape(y, x.shape);
  });
}
