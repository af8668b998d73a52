import { ArgumentError, DTypeError, formatShape, ShapeError, Tensor } from '@polymodal/tensor';

/** Throws unless `t` is a live tensor. */
export function assertIsTensor(op: string, name: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) {
    throw new ArgumentError(op, `${name} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  }
}

/** Throws a ShapeError unless `t` has `rank` dims and (where given) the listed sizes. */
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

export function assertDType(op: string, name: string, t: Tensor, dtype: Tensor['dtype']): void {
  if (t.dtype !== dtype) throw new DTypeError(op, `${name} must be ${dtype}, got ${t.dtype}`);
}

/** A non-empty batch: the first dim is at least `min` (1 by default). */
export function assertBatch(op: string, name: string, t: Tensor, min = 1): void {
  if ((t.shape[0] ?? 0) < min) {
    throw new ShapeError(
      op,
      `${name} needs a batch of at least ${min}, got ${formatShape(t.shape)}${min === 1 ? ' (empty batch)' : ''}`,
    );
  }
}

/**
 * Throws an ArgumentError when `t` holds NaN (or ±∞ unless `allowInfinite`). Reads the values back
 * to the host: a loss is one scalar per step, so the cost is small next to a silent NaN.
 */
export function assertFinite(op: string, name: string, t: Tensor, allowInfinite = false): void {
  const values = t.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v) || (!allowInfinite && !Number.isFinite(v))) {
      throw new ArgumentError(op, `${name} ${formatShape(t.shape)} holds ${v} at flat index ${i}`);
    }
  }
}

/** A scalar parameter given as a number or a one-element float tensor (`[]` or `[1]`). */
export function assertScalarLike(op: string, name: string, v: unknown): asserts v is number | Tensor {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ArgumentError(op, `${name} must be finite, got ${v}`);
    return;
  }
  assertIsTensor(op, name, v);
  if (v.size !== 1) throw new ShapeError(op, `${name} must hold one value, got ${formatShape(v.shape)}`);
  assertDType(op, name, v, 'float32');
}
