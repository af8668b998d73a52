import { ENGINE, scope } from '../engine.js';
import { ArgumentError, ShapeError } from '../errors/index.js';
import { formatShape, inferReshape, normalizeAxis, shapesEqual, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { assertTensor, checkPositiveInt } from '../validation.js';
import { arange } from './creation.js';
import { indexSelect } from './indexing.js';

/** Same values, new shape (one dim may be -1). Shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor('reshape', 'input', x);
  const target = inferReshape('reshape', x.shape, shape);
  return ENGINE.view(x, target);
}

/** Reorders dims: `permute(x, [0, 2, 1])`. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  assertTensor('permute', 'input', x);
  if (dims.length !== x.rank) {
    throw new ShapeError(
      'permute',
      `dims ${formatShape(dims)} must list all ${x.rank} dims of ${formatShape(x.shape)}`,
    );
  }
  const perm = dims.map((d) => normalizeAxis('permute', d, x.rank));
  if (new Set(perm).size !== perm.length)
    throw new ArgumentError('permute', `dims ${formatShape(dims)} repeat a dim`);
  if (perm.every((p, i) => p === i)) return x.clone();
  return ENGINE.runKernel('Transpose', [x], { perm });
}

/** Swaps two dims. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  assertTensor('transpose', 'input', x);
  if (x.rank < 2) return x.clone();
  const a = normalizeAxis('transpose', dim0, x.rank);
  const b = normalizeAxis('transpose', dim1, x.rank);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Broadcasts to `shape` (-1 keeps a dim), copying. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor('expand', 'input', x);
  if (shape.length < x.rank) {
    throw new ShapeError(
      'expand',
      `cannot expand ${formatShape(x.shape)} to fewer dims ${formatShape(shape)}`,
    );
  }
  const offset = shape.length - x.rank;
  const target = shape.map((d, i) => (d === -1 ? (x.shape[i - offset] ?? -1) : d));
  target.forEach((d, i) => {
    const src = x.shape[i - offset];
    if (d < 0 || (src !== undefined && src !== 1 && src !== d)) {
      throw new ShapeError(
        'expand',
        `cannot expand ${formatShape(x.shape)} to ${formatShape(shape)} at dim ${i}`,
      );
    }
  });
  if (shapesEqual(target, x.shape)) return x.clone();
  return ENGINE.runKernel('BroadcastTo', [x], { shape: target });
}

/** Alias of `expand` with NumPy's name. */
export const broadcastTo = expand;

/** Drops size-1 dims (all, or the given ones). */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  assertTensor('squeeze', 'input', x);
  const dims =
    dim === undefined
      ? x.shape.map((_, i) => i)
      : (typeof dim === 'number' ? [dim] : dim).map((d) => normalizeAxis('squeeze', d, x.rank));
  return reshape(
    x,
    x.shape.filter((d, i) => !(d === 1 && dims.includes(i))),
  );
}

/** Inserts a size-1 dim at `dim` (−1 appends). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  assertTensor('unsqueeze', 'input', x);
  const d = normalizeAxis('unsqueeze', dim, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

/** Merges dims `startDim..endDim` into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  assertTensor('flatten', 'input', x);
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis('flatten', startDim, x.rank);
  const e = normalizeAxis('flatten', endDim, x.rank);
  if (s > e) throw new ArgumentError('flatten', `startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Joins tensors along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ArgumentError('cat', 'needs at least one tensor');
  tensors.forEach((t, i) => {
    assertTensor('cat', `tensors[${i}]`, t);
  });
  const first = tensors[0]!;
  const axis = normalizeAxis('cat', dim, first.rank);
  for (const [i, t] of tensors.entries()) {
    if (t.rank !== first.rank || t.shape.some((d, k) => k !== axis && d !== first.shape[k])) {
      throw new ShapeError(
        'cat',
        `tensors[${i}] ${formatShape(t.shape)} does not match tensors[0] ${formatShape(first.shape)} outside dim ${axis}`,
      );
    }
    if (t.dtype !== first.dtype)
      throw new ShapeError('cat', `tensors[${i}] is ${t.dtype}, tensors[0] is ${first.dtype}`);
  }
  if (tensors.length === 1) return first.clone();
  return ENGINE.runKernel('Concat', tensors, { axis });
}

/** Joins tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ArgumentError('stack', 'needs at least one tensor');
  const first = tensors[0]!;
  for (const [i, t] of tensors.entries()) {
    if (!shapesEqual(t.shape, first.shape)) {
      throw new ShapeError(
        'stack',
        `tensors[${i}] ${formatShape(t.shape)} differs from tensors[0] ${formatShape(first.shape)}`,
      );
    }
  }
  const d = normalizeAxis('stack', dim, first.rank + 1);
  return scope(() =>
    cat(
      tensors.map((t) => unsqueeze(t, d)),
      d,
    ),
  );
}

/**
 * Python-style slice along one dim: negative indices count from the end, bounds are clamped.
 * `slice(x, 1, 2, 5)` is `x[:, 2:5]`.
 */
export function slice(x: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  assertTensor('slice', 'input', x);
  const axis = normalizeAxis('slice', dim, x.rank);
  checkPositiveInt('slice', 'step', step);
  const n = x.shape[axis]!;
  const norm = (i: number | undefined, dflt: number) =>
    i === undefined ? dflt : Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = norm(start, 0);
  const e = Math.max(norm(end, n), s);
  const count = Math.ceil((e - s) / step);
  if (step > 1) {
    return scope(() => indexSelect(x, axis, arange(s, s + count * step, step)));
  }
  const begin = x.shape.map(() => 0);
  const size = [...x.shape];
  begin[axis] = s;
  size[axis] = count;
  return ENGINE.runKernel('Slice', [x], { begin, size, step: x.shape.map(() => 1) });
}

/** `length` entries of dim `dim` from `start` (like `torch.narrow`). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  assertTensor('narrow', 'input', x);
  const axis = normalizeAxis('narrow', dim, x.rank);
  const n = x.shape[axis]!;
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(length) || length < 0 || s < 0 || s + length > n) {
    throw new ArgumentError('narrow', `start ${start} + length ${length} exceeds dim ${axis} of size ${n}`);
  }
  return slice(x, axis, s, s + length);
}

/** Splits into pieces of `size` (last may be smaller), or into the given section sizes. */
export function split(x: Tensor, splitSizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  assertTensor('split', 'input', x);
  const axis = normalizeAxis('split', dim, x.rank);
  const n = x.shape[axis]!;
  let sizes: number[];
  if (typeof splitSizeOrSections === 'number') {
    checkPositiveInt('split', 'split size', splitSizeOrSections);
    sizes = [];
    for (let s = 0; s < n; s += splitSizeOrSections) sizes.push(Math.min(splitSizeOrSections, n - s));
  } else {
    sizes = [...splitSizeOrSections];
    if (sizes.reduce((a, b) => a + b, 0) !== n) {
      throw new ShapeError('split', `sections ${formatShape(sizes)} do not sum to dim ${axis} of size ${n}`);
    }
  }
  let offset = 0;
  return sizes.map((size) => {
    const piece = slice(x, axis, offset, offset + size);
    offset += size;
    return piece;
  });
}

/** Splits into `chunks` nearly equal pieces (like `torch.chunk`). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  assertTensor('chunk', 'input', x);
  if (!Number.isInteger(chunks) || chunks <= 0)
    throw new ArgumentError('chunk', `chunks must be positive, got ${chunks}`);
  const n = x.shape[normalizeAxis('chunk', dim, x.rank)]!;
  return split(x, Math.max(1, Math.ceil(n / chunks)), dim);
}

/**
 * Constant padding in `torch.nn.functional.pad` order: `[left, right]` of the last dim first, then
 * `[top, bottom]` of the one before, and so on.
 */
export function pad(x: Tensor, padding: readonly number[], value = 0): Tensor {
  assertTensor('pad', 'input', x);
  if (padding.length % 2 !== 0 || padding.length / 2 > x.rank) {
    throw new ArgumentError(
      'pad',
      `padding ${formatShape(padding)} must hold pairs for at most ${x.rank} dims`,
    );
  }
  if (padding.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ArgumentError('pad', `padding ${formatShape(padding)} must be non-negative integers`);
  }
  const pads: [number, number][] = x.shape.map(() => [0, 0]);
  for (let i = 0; i < padding.length / 2; i++) pads[x.rank - 1 - i] = [padding[2 * i]!, padding[2 * i + 1]!];
  return ENGINE.runKernel('Pad', [x], { pads, value });
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}
