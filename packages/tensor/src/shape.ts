import { ArgumentError, ShapeError } from './errors/index.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides: every tensor is stored contiguously. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The most elements one tensor can hold: one JavaScript typed array (V8's limit on 64-bit). */
export const MAX_TENSOR_ELEMENTS = 2 ** 32;

export function assertShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape))
    throw new ShapeError(
      op,
      `shape must be an array of integers, got ${shape === null ? 'null' : typeof shape}`,
    );
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid shape ${formatShape(shape)}`);
  }
  const n = sizeOf(shape);
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new ShapeError(
      op,
      `shape ${formatShape(shape)} has ${n.toLocaleString('en-US')} elements; a tensor holds at most ${MAX_TENSOR_ELEMENTS.toLocaleString('en-US')} (one typed array)`,
    );
  }
}

/** Whether `e` is the RangeError a typed-array allocation throws when it is too large for memory. */
export function isAllocationFailure(e: unknown): e is RangeError {
  return (
    e instanceof RangeError && /typed array length|allocation failed|Invalid array length/i.test(e.message)
  );
}

/** NumPy/PyTorch broadcasting: align from the right; each pair of dims equal or one of them 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const o = rank - shape.length + i;
      const d = shape[i]!;
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else {
        throw new ShapeError(
          op,
          `cannot broadcast ${shapes.map(formatShape).join(' and ')}: dimension ${o} is ${out[o]} and ${d}`,
        );
      }
    }
  }
  return out;
}

/** Strides that read `shape` as if broadcast to `outShape` (0 along broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = contiguousStrides(shape);
  const out = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const o = outShape.length - shape.length + i;
    out[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : strides[i]!;
  }
  return out;
}

export function normalizeAxis(op: string, axis: number, rank: number): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(axis) || axis < -r || axis >= r) {
    throw new ArgumentError(op, `dim ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + r : axis;
}

/** Normalises `dim` (number, list, or undefined = all) into sorted unique axes. */
export function normalizeAxes(
  op: string,
  dim: number | readonly number[] | undefined,
  rank: number,
): number[] {
  if (dim === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dim === 'number' ? [dim] : dim;
  const axes = list.map((a) => normalizeAxis(op, a, rank));
  if (new Set(axes).size !== axes.length)
    throw new ArgumentError(op, `dim ${JSON.stringify(list)} repeats an axis`);
  return axes.sort((a, b) => a - b);
}

/** Resolves one `-1` in a reshape target. */
export function inferReshape(op: string, from: Shape, to: readonly number[]): number[] {
  const size = sizeOf(from);
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(op, `only one dimension can be -1, got ${formatShape(to)}`);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (out.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(out) !== size) {
    throw new ShapeError(
      op,
      `cannot reshape ${formatShape(from)} (${size} elements) into ${formatShape(to)}`,
    );
  }
  return out;
}

/**
 * A strided read plan, simplified: drops size-1 dims and merges neighbouring dims that every
 * operand walks contiguously. Kernels index at most a few dims this way, whatever the tensor rank.
 */
export function collapseDims(
  shape: Shape,
  stridesList: readonly (readonly number[])[],
): {
  shape: number[];
  strides: number[][];
} {
  const dims: number[] = [];
  const strides: number[][] = stridesList.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    const mergeable = last >= 0 && stridesList.every((s, k) => strides[k]![last] === s[i]! * d);
    if (mergeable) {
      dims[last]! *= d;
      stridesList.forEach((s, k) => {
        strides[k]![last] = s[i]!;
      });
    } else {
      dims.push(d);
      stridesList.forEach((s, k) => {
        strides[k]!.push(s[i]!);
      });
    }
  }
  return { shape: dims, strides };
}
