import type { TypedArray } from '../../../dtype.js';
import { collapseDims } from '../../../shape.js';

/**
 * `out[i] = src[offset + Σ idx_d · strides_d]` over `shape`, row-major: the one loop behind
 * transpose, broadcast and slice. Dims are merged first, so the inner loop is as long as possible.
 */
export function stridedCopy(
  src: TypedArray,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  out: TypedArray,
): void {
  const {
    shape: dims,
    strides: [st],
  } = collapseDims(shape, [strides]);
  const rank = dims.length;
  if (rank === 0) {
    if (out.length > 0) out[0] = src[offset]!;
    return;
  }
  // float32 (nearly every call) gets its own copy of the loop: one loop shared by every array
  // type reads elements megamorphically, 8–16 ns each instead of about 1.
  if (src instanceof Float32Array && out instanceof Float32Array) copyRunsF32(src, dims, st!, offset, out);
  else copyRuns(src, dims, st!, offset, out);
}

function copyRunsF32(
  src: Float32Array,
  dims: readonly number[],
  st: readonly number[],
  offset: number,
  out: Float32Array,
): void {
  const rank = dims.length;
  const inner = dims[rank - 1]!;
  const innerStride = st[rank - 1]!;
  const outer = out.length / inner;
  const idx = new Int32Array(rank);
  // Long contiguous runs (a permute that keeps the last axis, a slice of rows) copy as blocks.
  const block = innerStride === 1 && inner >= 32;
  let base = offset;
  let o = 0;
  for (let n = 0; n < outer; n++) {
    if (block) {
      out.set(src.subarray(base, base + inner), o);
      o += inner;
    } else if (innerStride === 0) {
      out.fill(src[base]!, o, o + inner);
      o += inner;
    } else {
      for (let j = 0, s = base; j < inner; j++, s += innerStride) out[o++] = src[s]!;
    }
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += st[d]!;
      if (idx[d]! < dims[d]!) break;
      base -= idx[d]! * st[d]!;
      idx[d] = 0;
    }
  }
}

/** `copyRunsF32` for the other array types. */
function copyRuns(
  src: TypedArray,
  dims: readonly number[],
  st: readonly number[],
  offset: number,
  out: TypedArray,
): void {
  const rank = dims.length;
  const inner = dims[rank - 1]!;
  const innerStride = st[rank - 1]!;
  const outer = out.length / inner;
  const idx = new Int32Array(rank);
  let base = offset;
  let o = 0;
  for (let n = 0; n < outer; n++) {
    for (let j = 0, s = base; j < inner; j++, s += innerStride) out[o++] = src[s]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += st[d]!;
      if (idx[d]! < dims[d]!) break;
      base -= idx[d]! * st[d]!;
      idx[d] = 0;
    }
  }
}

/** Calls `fn(aOffset, bOffset, outIndex, count, aStride, bStride)` for each innermost run of a broadcast. */
export function forEachBroadcastRun(
  shape: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
  fn: (aBase: number, bBase: number, o: number, n: number, as: number, bs: number) => void,
): void {
  forEachBroadcastRun3(shape, aStrides, bStrides, aStrides, (a, b, _c, o, n, as, bs) =>
    fn(a, b, o, n, as, bs),
  );
}

/** Three-operand `forEachBroadcastRun` (for `where`): offsets and strides of a, b and c per run. */
export function forEachBroadcastRun3(
  shape: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
  cStrides: readonly number[],
  fn: (
    aBase: number,
    bBase: number,
    cBase: number,
    o: number,
    n: number,
    as: number,
    bs: number,
    cs: number,
  ) => void,
): void {
  const {
    shape: dims,
    strides: [sa, sb, sc],
  } = collapseDims(shape, [aStrides, bStrides, cStrides]);
  const rank = dims.length;
  if (rank === 0) {
    fn(0, 0, 0, 0, 1, 0, 0, 0);
    return;
  }
  const inner = dims[rank - 1]!;
  let total = 1;
  for (const d of dims) total *= d;
  const outer = total / inner;
  const idx = new Array<number>(rank).fill(0);
  let a = 0;
  let b = 0;
  let c = 0;
  for (let n = 0, o = 0; n < outer; n++, o += inner) {
    fn(a, b, c, o, inner, sa![rank - 1]!, sb![rank - 1]!, sc![rank - 1]!);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      a += sa![d]!;
      b += sb![d]!;
      c += sc![d]!;
      if (idx[d]! < dims[d]!) break;
      a -= idx[d]! * sa![d]!;
      b -= idx[d]! * sb![d]!;
      c -= idx[d]! * sc![d]!;
      idx[d] = 0;
    }
  }
}
