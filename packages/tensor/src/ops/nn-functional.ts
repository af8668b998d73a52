import { ENGINE, getBackend, noGrad, scope } from '../engine.js';
import { ArgumentError, ShapeError } from '../errors/index.js';
import { getKernel } from '../kernel-registry.js';
import { generatorFrom, type RandomOptions } from '../random.js';
import { formatShape, normalizeAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertDType, assertTensor, checkInRange } from '../validation.js';
import { where } from './binary.js';
import { ones, zeros } from './creation.js';
import { gather } from './indexing.js';
import { logSumExp, max, mean, sum, variance } from './reduce.js';
import { permute, reshape, unsqueeze } from './shape-ops.js';
import { exp } from './unary.js';

/** `exp(x − max) / Σ exp(x − max)` along `dim`. */
export function softmax(x: Tensor, dim = -1): Tensor {
  assertTensor('softmax', 'input', x);
  const axis = normalizeAxis('softmax', dim, x.rank);
  if (axis === x.rank - 1 && x.dtype === 'float32' && getKernel('SoftmaxLastAxis', getBackend())) {
    return ENGINE.runKernel('SoftmaxLastAxis', [x], {});
  }
  return scope(() => {
    const m = noGrad(() => max(x, axis, true).maximum(-3.4e38));
    const e = exp(x.sub(m));
    return e.div(sum(e, axis, true));
  });
}

/** `x − logSumExp(x)` along `dim`. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  assertTensor('logSoftmax', 'input', x);
  const axis = normalizeAxis('logSoftmax', dim, x.rank);
  return scope(() => x.sub(logSumExp(x, axis, true)));
}

/**
 * Layer normalization (Ba et al. 2016) over the trailing `normalizedShape` dims:
 * `(x − mean) / √(var + eps) · weight + bias`, with the biased variance (like PyTorch).
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  assertTensor('layerNorm', 'input', x);
  const k = normalizedShape.length;
  if (k === 0 || k > x.rank || normalizedShape.some((d, i) => d !== x.shape[x.rank - k + i])) {
    throw new ShapeError(
      'layerNorm',
      `normalizedShape ${formatShape(normalizedShape)} must match the trailing dims of ${formatShape(x.shape)}`,
    );
  }
  for (const [name, p] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (p && formatShape(p.shape) !== formatShape(normalizedShape)) {
      throw new ShapeError(
        'layerNorm',
        `${name} ${formatShape(p.shape)} must be ${formatShape(normalizedShape)}`,
      );
    }
  }
  const axes = normalizedShape.map((_, i) => x.rank - k + i);
  if (k === 1 && x.dtype === 'float32' && getKernel('LayerNormLastAxis', getBackend())) {
    const d = normalizedShape[0]!;
    return scope(() =>
      ENGINE.runKernel('LayerNormLastAxis', [x, weight ?? ones([d]), bias ?? zeros([d])], { eps }),
    );
  }
  return scope(() => {
    const mu = mean(x, axes, true);
    const centered = x.sub(mu);
    const inv = variance(x, axes, { correction: 0, keepDim: true }).add(eps).rsqrt();
    let y = centered.mul(inv);
    if (weight) y = y.mul(weight);
    if (bias) y = y.add(bias);
    return y;
  });
}

export interface DropoutOptions extends RandomOptions {
  /** Off in evaluation: returns the input unchanged (a copy). Default true. */
  training?: boolean;
}

/**
 * Zeroes each element with probability `p` and scales the rest by `1/(1−p)` (inverted dropout).
 * The mask comes from the generator's stream, so it is the same on every backend: drawn on the host,
 * or, where the backend has the fused `Dropout` kernel (cpu, wasm), drawn by the kernel from the
 * generator's state as it goes, storing no mask (the backward redraws it).
 */
export function dropout(x: Tensor, p = 0.5, options: DropoutOptions = {}): Tensor {
  assertTensor('dropout', 'input', x);
  checkInRange('dropout', 'p', p, 0, 1);
  if (options.training === false || p === 0) return x.clone();
  if (p === 1) return x.mul(0);
  const g = generatorFrom(options);
  if (x.dtype === 'float32' && getKernel('Dropout', getBackend())) {
    // Fused: the backend draws the mask from the generator's state as it goes; then the host's
    // generator skips what was drawn, so the stream continues exactly as with the composed form.
    const { hi, lo } = g.getState();
    const y = ENGINE.runKernel('Dropout', [x], { p, stateHi: hi, stateLo: lo });
    g.advance(sizeOf(x.shape));
    return y;
  }
  const scale = 1 / (1 - p);
  const mask = g.fillUniform(new Float32Array(sizeOf(x.shape)));
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i]! >= p ? scale : 0;
  return scope(() => x.mul(ENGINE.fromValues(mask, x.shape, 'float32')));
}

export type Reduction = 'mean' | 'sum' | 'none';

function reduceLoss(op: string, loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return sum(loss);
  if (reduction === 'mean') return mean(loss);
  throw new ArgumentError(op, `reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
}

/**
 * The target value loss functions skip by default (PyTorch's and Hugging Face's −100): the label of
 * padding and of unmasked MLM positions.
 *
 * ```ts
 * crossEntropy(logits, tensor([3, IGNORE_INDEX], { dtype: 'int32' })); // averages over the first only
 * ```
 */
export const IGNORE_INDEX = -100;

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (and not counted in the mean). Default {@link IGNORE_INDEX} (−100). */
  ignoreIndex?: number;
  /** Mixes the target with the uniform distribution (Szegedy et al. 2016). Default 0. */
  labelSmoothing?: number;
  reduction?: Reduction;
}

/**
 * Cross-entropy between logits and class indices, PyTorch semantics: `input [N, C]` (or
 * `[N, C, d1, …]`), `target [N]` (or `[N, d1, …]`) int32, or class probabilities shaped like input.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  assertTensor('crossEntropy', 'input', input);
  assertTensor('crossEntropy', 'target', target);
  const ignoreIndex = options.ignoreIndex ?? IGNORE_INDEX;
  const eps = options.labelSmoothing ?? 0;
  const reduction = options.reduction ?? 'mean';
  checkInRange('crossEntropy', 'labelSmoothing', eps, 0, 1);
  if (input.rank < 2)
    throw new ShapeError('crossEntropy', `input must be [N, C, ...], got ${formatShape(input.shape)}`);
  const c = input.shape[1]!;
  return scope(() => {
    // Move the class dim last: [M, C].
    const perm = [0, ...input.shape.slice(2).map((_, i) => i + 2), 1];
    const logits = input.rank === 2 ? input : permute(input, perm);
    const logp = reshape(logits, [-1, c]).logSoftmax(-1);
    if (target.dtype === 'float32') {
      if (formatShape(target.shape) !== formatShape(input.shape)) {
        throw new ShapeError(
          'crossEntropy',
          `probability target ${formatShape(target.shape)} must match input ${formatShape(input.shape)}`,
        );
      }
      const probs = reshape(input.rank === 2 ? target : permute(target, perm), [-1, c]);
      const smoothed = eps > 0 ? probs.mul(1 - eps).add(eps / c) : probs;
      const loss = sum(smoothed.mul(logp), -1).neg();
      return reduceLoss('crossEntropy', reshape(loss, [input.shape[0]!, ...input.shape.slice(2)]), reduction);
    }
    assertDType('crossEntropy', 'target', target, 'int32');
    const expected = [input.shape[0]!, ...input.shape.slice(2)];
    if (formatShape(target.shape) !== formatShape(expected)) {
      throw new ShapeError(
        'crossEntropy',
        `target ${formatShape(target.shape)} must be ${formatShape(expected)} for input ${formatShape(input.shape)}`,
      );
    }
    const flatTarget = reshape(target, [-1]);
    const valid = flatTarget.ne(ignoreIndex);
    const safeTarget = where(valid, flatTarget, 0);
    if (safeTarget.backend.hostMemory) {
      const values = safeTarget.dataSync();
      const bad = values.findIndex((v) => v < 0 || v >= c);
      if (bad >= 0) {
        throw new ArgumentError(
          'crossEntropy',
          `target ${values[bad]} at position ${bad} is out of range for ${c} classes`,
        );
      }
    }
    const nll = reshape(gather(logp, 1, unsqueeze(safeTarget, 1)), [-1]).neg();
    let loss = eps > 0 ? nll.mul(1 - eps).add(mean(logp, -1).neg().mul(eps)) : nll;
    const validF = valid.float();
    loss = loss.mul(validF);
    if (reduction === 'mean') return sum(loss).div(sum(validF).maximum(1));
    return reduceLoss('crossEntropy', reshape(loss, expected), reduction);
  });
}

export interface BceOptions {
  /** Per-element weight (broadcasts). */
  weight?: Tensor;
  /** Weight of positive examples per class (broadcasts over the last dim), as in PyTorch. */
  posWeight?: Tensor;
  reduction?: Reduction;
}

/**
 * Binary cross-entropy on logits, stable form:
 * `(1 − t)·x + (1 + (pw − 1)·t)·(log(1 + e^−|x|) + max(−x, 0))`.
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  options: BceOptions = {},
): Tensor {
  assertTensor('binaryCrossEntropyWithLogits', 'input', input);
  assertTensor('binaryCrossEntropyWithLogits', 'target', target);
  if (formatShape(input.shape) !== formatShape(target.shape)) {
    throw new ShapeError(
      'binaryCrossEntropyWithLogits',
      `target ${formatShape(target.shape)} must match input ${formatShape(input.shape)}`,
    );
  }
  return scope(() => {
    const t = target.float();
    const softplusNeg = input.abs().neg().exp().add(1).log().add(input.neg().maximum(0));
    const coef = options.posWeight ? t.mul(options.posWeight.sub(1)).add(1) : null;
    let loss = t
      .neg()
      .add(1)
      .mul(input)
      .add(coef ? coef.mul(softplusNeg) : softplusNeg);
    if (options.weight) loss = loss.mul(options.weight);
    return reduceLoss('binaryCrossEntropyWithLogits', loss, options.reduction ?? 'mean');
  });
}

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  assertTensor('mseLoss', 'input', input);
  assertTensor('mseLoss', 'target', target);
  if (formatShape(input.shape) !== formatShape(target.shape)) {
    throw new ShapeError(
      'mseLoss',
      `target ${formatShape(target.shape)} must match input ${formatShape(input.shape)}`,
    );
  }
  return scope(() => reduceLoss('mseLoss', input.sub(target).square(), options.reduction ?? 'mean'));
}
