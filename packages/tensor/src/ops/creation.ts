import { allocate, BYTES_PER_ELEMENT, type DType, type TypedArray, toStorage } from '../dtype.js';
import { ENGINE } from '../engine.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors/index.js';
import { generatorFrom, type RandomOptions } from '../random.js';
import { assertShape, formatShape, isAllocationFailure, type Shape, sizeOf } from '../shape.js';
import type { NestedArray, Tensor } from '../tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

type NestedInput = number | boolean | readonly NestedInput[];

/** `allocate`, with an out-of-memory RangeError turned into a ShapeError naming the op and shape. */
function allocateFor(op: string, dtype: DType, shape: Shape): TypedArray {
  try {
    return allocate(dtype, sizeOf(shape));
  } catch (e) {
    if (!isAllocationFailure(e)) throw e;
    throw new ShapeError(
      op,
      `cannot allocate ${formatShape(shape)} ${dtype} (${(sizeOf(shape) * BYTES_PER_ELEMENT[dtype]).toLocaleString('en-US')} bytes): ${e.message}`,
    );
  }
}

function finish(t: Tensor, opts: CreateOptions | undefined): Tensor {
  if (opts?.requiresGrad) {
    if (t.dtype !== 'float32')
      throw new ArgumentError('requiresGrad', `only float32 tensors can require grad, got ${t.dtype}`);
    t.requiresGrad = true;
  }
  return t;
}

function inferShape(values: NestedInput): number[] {
  const shape: number[] = [];
  let v: NestedInput = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = (v as readonly NestedInput[])[0] as NestedInput;
  }
  return shape;
}

/** `a string ("x")`, `undefined`, `an object`: what a bad element of a nested array is. */
function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)})`;
  if (ArrayBuffer.isView(v))
    return `a ${v.constructor.name} (nest plain arrays, or pass one typed array with a shape)`;
  return `a${typeof v === 'object' ? 'n' : ''} ${typeof v}`;
}

function flattenNested(
  values: NestedInput,
  shape: number[],
  out: number[],
  dim: number,
  path: number[],
): void {
  if (dim === shape.length) {
    if (typeof values !== 'number' && typeof values !== 'boolean') {
      if (Array.isArray(values))
        throw new ShapeError('tensor', `ragged nested array at index [${path.join('][')}]`);
      throw new DTypeError(
        'tensor',
        `element at index [${path.join('][')}] is ${describeValue(values)}; tensor() takes numbers and booleans`,
      );
    }
    out.push(typeof values === 'boolean' ? (values ? 1 : 0) : values);
    return;
  }
  if (!Array.isArray(values) && typeof values !== 'number' && typeof values !== 'boolean') {
    throw new DTypeError(
      'tensor',
      `element at index [${path.join('][')}] is ${describeValue(values)}; tensor() takes numbers and booleans`,
    );
  }
  if (!Array.isArray(values) || values.length !== shape[dim]) {
    throw new ShapeError(
      'tensor',
      `ragged nested array at index [${path.join('][')}]: expected ${shape[dim]} entries, got ${Array.isArray(values) ? values.length : 'a scalar'}`,
    );
  }
  (values as readonly NestedInput[]).forEach((v, i) => {
    flattenNested(v, shape, out, dim + 1, [...path, i]);
  });
}

/**
 * Makes a tensor from nested arrays, a typed array (with `shape`), or a number.
 *
 * ```ts
 * tensor([[1, 2], [3, 4]]);                          // float32 [2,2]
 * tensor(new Int32Array([1, 2, 3]), { shape: [3] }); // int32
 * tensor([true, false]);                             // bool
 * ```
 */
export function tensor(
  values: NestedInput | TypedArray | NestedArray,
  options: CreateOptions & { shape?: readonly number[] } = {},
): Tensor {
  let flat: ArrayLike<number>;
  let shape: number[];
  let dtype = options.dtype;
  if (ArrayBuffer.isView(values)) {
    flat = values as TypedArray;
    shape = options.shape ? [...options.shape] : [flat.length];
    dtype ??= values instanceof Int32Array ? 'int32' : values instanceof Uint8Array ? 'bool' : 'float32';
  } else {
    shape = inferShape(values as NestedInput);
    const out: number[] = [];
    flattenNested(values as NestedInput, shape, out, 0, []);
    flat = out;
    if (options.shape) shape = [...options.shape];
    if (!dtype) {
      let first: unknown = values;
      while (Array.isArray(first)) first = first[0];
      dtype = typeof first === 'boolean' ? 'bool' : 'float32';
    }
  }
  assertShape('tensor', shape);
  if (sizeOf(shape) !== flat.length) {
    throw new ShapeError('tensor', `${flat.length} values do not fill shape ${formatShape(shape)}`);
  }
  const storage = toStorage(flat, dtype);
  const owned = storage === values ? (storage.slice() as TypedArray) : storage;
  return finish(ENGINE.fromValues(owned, shape, dtype), options);
}

/** A 0-d tensor. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return tensor(value, options);
}

export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  assertShape('full', shape);
  const dtype = options.dtype ?? 'float32';
  const values = allocateFor('full', dtype, shape);
  if (value !== 0) values.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
  return finish(ENGINE.fromValues(values, shape, dtype), options);
}

export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, ...options });
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, ...options });
}

export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, ...options });
}

/**
 * `arange(end)` or `arange(start, end, step)`: int32 when all arguments are integers (like
 * PyTorch), else float32.
 */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new ArgumentError('arange', 'step must be nonzero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = options.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  if (!Number.isFinite(n))
    throw new ArgumentError(
      'arange',
      `start, end and step must be finite numbers, got ${start}, ${end}, ${step}`,
    );
  assertShape('arange', [n]);
  const values = allocateFor('arange', dtype, [n]);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  return finish(ENGINE.fromValues(values, [n], dtype), options);
}

/** `steps` evenly spaced values from `start` to `end`, both included. */
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new ArgumentError('linspace', `steps must be a count, got ${steps}`);
  assertShape('linspace', [steps]);
  const values = allocateFor('linspace', 'float32', [steps]) as Float32Array;
  for (let i = 0; i < steps; i++) values[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return finish(ENGINE.fromValues(values, [steps], 'float32'), options);
}

/** Identity matrix `[n, m]`. */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? 'float32';
  assertShape('eye', [n, m]);
  const values = allocateFor('eye', dtype, [n, m]);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return finish(ENGINE.fromValues(values, [n, m], dtype), options);
}

export type RandomCreateOptions = CreateOptions & RandomOptions;

/** Uniform samples in [low, high) (default [0, 1)), drawn on the host: same values on every backend. */
export function rand(
  shape: Shape,
  options: RandomCreateOptions & { low?: number; high?: number } = {},
): Tensor {
  assertShape('rand', shape);
  const g = generatorFrom(options);
  const low = options.low ?? 0;
  const span = (options.high ?? 1) - low;
  const values = g.fillUniform(allocateFor('rand', 'float32', shape) as Float32Array);
  for (let i = 0; i < values.length; i++) values[i] = low + span * values[i]!;
  return finish(ENGINE.fromValues(values, shape, 'float32'), options);
}

/** Normal samples with mean and std (default N(0, 1)). */
export function randn(
  shape: Shape,
  options: RandomCreateOptions & { mean?: number; std?: number } = {},
): Tensor {
  assertShape('randn', shape);
  const g = generatorFrom(options);
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  const values = allocateFor('randn', 'float32', shape) as Float32Array;
  for (let i = 0; i < values.length; i++) values[i] = mean + std * g.normal();
  return finish(ENGINE.fromValues(values, shape, 'float32'), options);
}

/** Integers uniform in [low, high), int32. */
export function randint(low: number, high: number, shape: Shape, options: RandomOptions = {}): Tensor {
  assertShape('randint', shape);
  if (!(high > low)) throw new ArgumentError('randint', `high (${high}) must exceed low (${low})`);
  const g = generatorFrom(options);
  const values = allocateFor('randint', 'int32', shape) as Int32Array;
  for (let i = 0; i < values.length; i++) values[i] = g.integer(low, high);
  return ENGINE.fromValues(values, shape, 'int32');
}

/** A random permutation of 0..n-1 (int32), Fisher–Yates on the host. */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  assertShape('randperm', [n]);
  const g = generatorFrom(options);
  const values = allocateFor('randperm', 'int32', [n]) as Int32Array;
  for (let i = 0; i < n; i++) values[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.integer(0, i + 1);
    const tmp = values[i]!;
    values[i] = values[j]!;
    values[j] = tmp;
  }
  return ENGINE.fromValues(values, [n], 'int32');
}
