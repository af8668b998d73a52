import { type DType, promoteTypes } from '../dtype.js';
import { ENGINE, scope } from '../engine.js';
import { ArgumentError } from '../errors/index.js';
import type { ArithmeticKernel, ComparisonKernel } from '../kernel-names.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from '../validation.js';
import { asDType, type Operand, withOperands } from './operand.js';

const OP_NAMES: Record<ArithmeticKernel | ComparisonKernel, string> = {
  Add: 'add',
  Sub: 'sub',
  Mul: 'mul',
  Div: 'div',
  Pow: 'pow',
  Maximum: 'maximum',
  Minimum: 'minimum',
  Equal: 'eq',
  NotEqual: 'ne',
  Less: 'lt',
  LessEqual: 'le',
  Greater: 'gt',
  GreaterEqual: 'ge',
  LogicalAnd: 'logicalAnd',
  LogicalOr: 'logicalOr',
};

function binary(
  kernel: ArithmeticKernel | ComparisonKernel,
  a: Operand,
  b: Operand,
  dtypeFor: (d: DType) => DType,
): Tensor {
  const op = OP_NAMES[kernel];
  return withOperands([a, b], (ta, tb) => {
    assertTensor(op, 'input', ta);
    assertTensor(op, 'other', tb);
    broadcastShapes(op, ta.shape, tb.shape);
    const dtype = dtypeFor(promoteTypes(ta.dtype, tb.dtype));
    return asDType(ta, dtype, (ca) => asDType(tb, dtype, (cb) => ENGINE.runKernel(kernel, [ca, cb], {})));
  });
}

// Arithmetic on bool promotes to int32; division and pow always produce float32 (true division).
const arith = (d: DType): DType => (d === 'bool' ? 'int32' : d);
const floatOnly = (): DType => 'float32';
const same = (d: DType): DType => d;

/** Broadcasting `a + b`. */
export const add = (a: Operand, b: Operand): Tensor => binary('Add', a, b, arith);
export const sub = (a: Operand, b: Operand): Tensor => binary('Sub', a, b, arith);
export const mul = (a: Operand, b: Operand): Tensor => binary('Mul', a, b, arith);
/** True division (float32 result, like `torch.div`). */
export const div = (a: Operand, b: Operand): Tensor => binary('Div', a, b, floatOnly);
export const pow = (a: Operand, b: Operand): Tensor => binary('Pow', a, b, floatOnly);
export const maximum = (a: Operand, b: Operand): Tensor => binary('Maximum', a, b, arith);
export const minimum = (a: Operand, b: Operand): Tensor => binary('Minimum', a, b, arith);
export const eq = (a: Operand, b: Operand): Tensor => binary('Equal', a, b, same);
export const ne = (a: Operand, b: Operand): Tensor => binary('NotEqual', a, b, same);
export const lt = (a: Operand, b: Operand): Tensor => binary('Less', a, b, same);
export const le = (a: Operand, b: Operand): Tensor => binary('LessEqual', a, b, same);
export const gt = (a: Operand, b: Operand): Tensor => binary('Greater', a, b, same);
export const ge = (a: Operand, b: Operand): Tensor => binary('GreaterEqual', a, b, same);
export const logicalAnd = (a: Operand, b: Operand): Tensor => binary('LogicalAnd', a, b, () => 'bool');
export const logicalOr = (a: Operand, b: Operand): Tensor => binary('LogicalOr', a, b, () => 'bool');

export function logicalNot(x: Tensor): Tensor {
  assertTensor('logicalNot', 'input', x);
  return asDType(x, 'bool', (b) => ENGINE.runKernel('LogicalNot', [b], {}));
}

/** `condition ? a : b`, elementwise with broadcasting; `condition` is cast to bool. */
export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  assertTensor('where', 'condition', condition);
  return withOperands([a, b], (ta, tb) => {
    broadcastShapes('where', condition.shape, ta.shape, tb.shape);
    const dtype = promoteTypes(ta.dtype, tb.dtype);
    return asDType(condition, 'bool', (c) =>
      asDType(ta, dtype, (ca) => asDType(tb, dtype, (cb) => ENGINE.runKernel('Where', [c, ca, cb], {}))),
    );
  });
}

/** Limits values to [min, max] (either bound optional). */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  assertTensor('clamp', 'input', x);
  if (min === undefined && max === undefined)
    throw new ArgumentError('clamp', 'give at least one of min and max');
  if (min !== undefined && max !== undefined && min > max) {
    throw new ArgumentError('clamp', `min (${min}) is greater than max (${max})`);
  }
  return scope(() => {
    let y = x;
    if (min !== undefined) y = maximum(y, min);
    if (max !== undefined) y = minimum(y, max);
    return y === x ? x.clone() : y;
  });
}

/** Elementwise cast; a cast to the same dtype copies. Float → int truncates toward zero. */
export function cast(x: Tensor, dtype: DType): Tensor {
  assertTensor('cast', 'input', x);
  return ENGINE.runKernel('Cast', [x], { dtype });
}

/** A copy with its own storage (recorded by autograd). */
export function clone(x: Tensor): Tensor {
  return cast(x, x.dtype);
}
