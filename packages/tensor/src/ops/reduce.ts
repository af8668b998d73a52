import { ENGINE, noGrad, scope } from '../engine.js';
import { ArgumentError } from '../errors/index.js';
import type { ReduceKernel } from '../kernel-names.js';
import { normalizeAxes, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from '../validation.js';
import { sub } from './binary.js';
import { asDType } from './operand.js';
import { permute, reshape } from './shape-ops.js';
import { exp, log } from './unary.js';

type Dim = number | readonly number[] | undefined;

const NAMES: Record<ReduceKernel, string> = { Sum: 'sum', Max: 'max', Min: 'min', Prod: 'prod' };

function keepDimShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/**
 * Reduces over `axes`. Kernels reduce one contiguous block of axes; other sets are permuted to
 * the end first.
 */
function reduce(kernel: ReduceKernel, x: Tensor, dim: Dim, keepDim: boolean): Tensor {
  const op = NAMES[kernel];
  assertTensor(op, 'input', x);
  const axes = normalizeAxes(op, dim, x.rank);
  if (axes.length === 0) return x.clone();
  if ((kernel === 'Max' || kernel === 'Min') && axes.some((a) => x.shape[a] === 0)) {
    throw new ArgumentError(op, `cannot reduce over an empty dim of ${JSON.stringify(x.shape)}`);
  }
  const dtype = x.dtype === 'bool' ? 'int32' : x.dtype;
  return asDType(x, dtype, (xc) =>
    scope(() => {
      const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
      let input = xc;
      let kernelAxes = axes;
      if (!contiguous) {
        const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
        input = permute(xc, [...kept, ...axes]);
        kernelAxes = axes.map((_, i) => kept.length + i);
      }
      const out = ENGINE.runKernel(kernel, [input], { axes: kernelAxes });
      return keepDim ? reshape(out, keepDimShape(x.shape, axes)) : out;
    }),
  );
}

/** Sum over `dim` (all dims when omitted). */
export const sum = (x: Tensor, dim?: Dim, keepDim = false): Tensor => reduce('Sum', x, dim, keepDim);
/** Maximum values over `dim` (use `argmax` for indices). */
export const max = (x: Tensor, dim?: Dim, keepDim = false): Tensor => reduce('Max', x, dim, keepDim);
export const min = (x: Tensor, dim?: Dim, keepDim = false): Tensor => reduce('Min', x, dim, keepDim);
export const prod = (x: Tensor, dim?: Dim, keepDim = false): Tensor => reduce('Prod', x, dim, keepDim);

function countOver(x: Tensor, dim: Dim, op: string): number {
  return normalizeAxes(op, dim, x.rank).reduce((n, a) => n * x.shape[a]!, 1);
}

export function mean(x: Tensor, dim?: Dim, keepDim = false): Tensor {
  assertTensor('mean', 'input', x);
  const n = countOver(x, dim, 'mean');
  return asDType(x, 'float32', (xf) => scope(() => sum(xf, dim, keepDim).div(n)));
}

function argReduce(
  kernel: 'ArgMax' | 'ArgMin',
  x: Tensor,
  dim: number | undefined,
  keepDim: boolean,
): Tensor {
  const op = kernel === 'ArgMax' ? 'argmax' : 'argmin';
  assertTensor(op, 'input', x);
  return scope(() => {
    if (dim === undefined) {
      const out = ENGINE.runKernel(kernel, [reshape(x, [-1])], { axis: 0 });
      return keepDim
        ? reshape(
            out,
            x.shape.map(() => 1),
          )
        : out;
    }
    const axis = normalizeAxis(op, dim, x.rank);
    if (x.shape[axis] === 0) throw new ArgumentError(op, `cannot reduce over the empty dim ${axis}`);
    const out = ENGINE.runKernel(kernel, [x], { axis });
    return keepDim ? reshape(out, keepDimShape(x.shape, [axis])) : out;
  });
}

/**
 * Index (int32) of the maximum along `dim` (over the flattened tensor when omitted); first on ties.
 * NaN counts as the maximum (and the minimum, for `argmin`): the index of the first NaN, as in
 * PyTorch and NumPy. `argmax(tensor([1, NaN, 3]))` → 1.
 */
export const argmax = (x: Tensor, dim?: number, keepDim = false): Tensor =>
  argReduce('ArgMax', x, dim, keepDim);
export const argmin = (x: Tensor, dim?: number, keepDim = false): Tensor =>
  argReduce('ArgMin', x, dim, keepDim);

export interface VarianceOptions {
  /** Bessel's correction: 1 (default, unbiased like `torch.var`) or 0 (population). */
  correction?: number;
  keepDim?: boolean;
}

/** Variance over `dim`: Σ(x − mean)² / (N − correction). */
export function variance(x: Tensor, dim?: Dim, options: VarianceOptions = {}): Tensor {
  assertTensor('var', 'input', x);
  const correction = options.correction ?? 1;
  const n = countOver(x, dim, 'var');
  return asDType(x, 'float32', (xf) =>
    scope(() => {
      const centered = xf.sub(mean(xf, dim, true));
      return sum(centered.mul(centered), dim, options.keepDim ?? false).div(Math.max(n - correction, 0));
    }),
  );
}

export function std(x: Tensor, dim?: Dim, options: VarianceOptions = {}): Tensor {
  return scope(() => variance(x, dim, options).sqrt());
}

/** `log Σ exp(x)` over `dim`, stable (subtracts the max first). */
export function logSumExp(x: Tensor, dim: number | readonly number[], keepDim = false): Tensor {
  assertTensor('logSumExp', 'input', x);
  return asDType(x, 'float32', (xf) =>
    scope(() => {
      const m = noGrad(() => max(xf, dim, true));
      const safe = m.maximum(-3.4e38); // an all −∞ row keeps −∞ instead of NaN
      const lse = log(sum(exp(sub(xf, safe)), dim, true)).add(safe);
      return keepDim
        ? lse
        : reshape(
            lse,
            xf.shape.filter((_, i) => !normalizeAxes('logSumExp', dim, x.rank).includes(i)),
          );
    }),
  );
}
