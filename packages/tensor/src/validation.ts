import type { DType } from './dtype.js';
import { ArgumentError, DTypeError, ShapeError } from './errors/index.js';
import { formatShape } from './shape.js';
import { Tensor } from './tensor.js';

// One error class per kind of failure, so callers can catch what they mean:
// - not a tensor, or a scalar argument of the wrong kind or out of range → ArgumentError;
// - a tensor of the wrong dtype → DTypeError;
// - a tensor of the wrong rank or sizes → ShapeError.
// Every message starts with the op (PolymodalError adds `op: `) and names the argument and what it got.

const describe = (value: unknown): string => (value === null ? 'null' : typeof value);

/**
 * Throws an `ArgumentError` unless `value` is a `Tensor` (a number, `null`, a plain array or a
 * tensor from a second copy of this package are not).
 *
 * ```ts
 * assertTensor('linear', 'input', x); // linear: input must be a Tensor, got number
 * ```
 */
export function assertTensor(op: string, name: string, value: unknown): asserts value is Tensor {
  if (!(value instanceof Tensor)) {
    throw new ArgumentError(op, `${name} must be a Tensor, got ${describe(value)}`);
  }
}

/**
 * Throws a `DTypeError` unless `t` has one of `dtypes`.
 *
 * ```ts
 * assertDType('gather', 'index', idx, 'int32'); // gather: index must be int32, got float32
 * assertDType('where', 'condition', c, 'bool', 'int32');
 * ```
 */
export function assertDType(op: string, name: string, t: Tensor, ...dtypes: DType[]): void {
  if (!dtypes.includes(t.dtype)) {
    throw new DTypeError(op, `${name} must be ${dtypes.join(' or ')}, got ${t.dtype}`);
  }
}

/**
 * Throws a `ShapeError` unless `t` has `expected.length` dims with the given sizes; `null` accepts
 * any size. `what` replaces the expected shape in the message with a description.
 *
 * ```ts
 * assertShape('clipLoss', 'textEmbeds', t, [null, 512]);
 * // clipLoss: textEmbeds must be [*,512], got [4,256]
 * assertShape('itmLoss', 'logits', t, [null, 2], '[batch, 2]');
 * // itmLoss: logits must be [batch, 2], got [4]
 * ```
 */
export function assertShape(
  op: string,
  name: string,
  t: Tensor,
  expected: readonly (number | null)[],
  what = '',
): void {
  const ok = t.rank === expected.length && expected.every((d, i) => d === null || t.shape[i] === d);
  if (!ok) {
    const want = `[${expected.map((d) => (d === null ? '*' : d)).join(',')}]`;
    throw new ShapeError(op, `${name} must be ${what || want}, got ${formatShape(t.shape)}`);
  }
}

/**
 * Returns `value` if it is a positive integer (1, 2, …), else throws an `ArgumentError`.
 *
 * ```ts
 * this.outFeatures = checkPositiveInt('Linear', 'outFeatures', outFeatures);
 * // Linear: outFeatures must be a positive integer, got 0
 * ```
 */
export function checkPositiveInt(op: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ArgumentError(op, `${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Which ends of a `checkInRange` interval are allowed: `'[]'` both, `'[)'` not the upper one, … */
export type RangeBounds = '[]' | '[)' | '(]' | '()';

/**
 * Returns `value` if it is a number in the interval from `min` to `max` (both ends included unless
 * `bounds` says otherwise; NaN never is), else throws an `ArgumentError`.
 *
 * ```ts
 * checkInRange('Dropout', 'p', p, 0, 1);             // Dropout: p must be in [0, 1], got 1.5
 * checkInRange('attention', 'dropout', p, 0, 1, '[)'); // attention: dropout must be in [0, 1), got 1
 * ```
 */
export function checkInRange(
  op: string,
  name: string,
  value: number,
  min: number,
  max: number,
  bounds: RangeBounds = '[]',
): number {
  const aboveMin = bounds[0] === '[' ? value >= min : value > min;
  const belowMax = bounds[1] === ']' ? value <= max : value < max;
  if (typeof value !== 'number' || !(aboveMin && belowMax)) {
    throw new ArgumentError(op, `${name} must be in ${bounds[0]}${min}, ${max}${bounds[1]}, got ${value}`);
  }
  return value;
}
