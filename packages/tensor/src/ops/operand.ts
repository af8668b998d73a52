import type { DType } from '../dtype.js';
import { ENGINE } from '../engine.js';
import { Tensor } from '../tensor.js';

export type Operand = Tensor | number;

/** A number becomes a scalar tensor of `like`'s dtype (float32 for non-integers). */
export function scalarFor(value: number, like?: DType): Tensor {
  const dtype: DType =
    like === 'float32' || like === undefined || !Number.isInteger(value)
      ? 'float32'
      : like === 'bool'
        ? 'int32'
        : like;
  const values = dtype === 'float32' ? new Float32Array([value]) : new Int32Array([value]);
  return ENGINE.fromValues(values, [], dtype);
}

/**
 * Runs `fn` with tensor operands, turning numbers into scalar tensors that are disposed afterwards
 * (autograd keeps them alive as long as a recorded op needs them).
 */
export function withOperands<T>(operands: readonly Operand[], fn: (...ts: Tensor[]) => T): T {
  const like = operands.find((o): o is Tensor => o instanceof Tensor)?.dtype;
  const temps: Tensor[] = [];
  const ts = operands.map((o) => {
    if (o instanceof Tensor) return o;
    const t = scalarFor(o, like);
    temps.push(t);
    return t;
  });
  try {
    return fn(...ts);
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** Casts to `dtype` if needed; the cast (if any) is handed to `fn` and disposed after. */
export function asDType<T>(t: Tensor, dtype: DType, fn: (t: Tensor) => T): T {
  if (t.dtype === dtype) return fn(t);
  const c = ENGINE.runKernel('Cast', [t], { dtype });
  try {
    return fn(c);
  } finally {
    c.dispose();
  }
}
