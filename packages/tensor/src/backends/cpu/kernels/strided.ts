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
  const inner = dims[rank - 1]!;
  const innerStride = st![rank - 1]!;
  const outer = out.length / inner;
  const idx = new Array<number>(rank).fill(0);
  let base = offset;
  let o = 0;
  for (let n = 0; n < outer; n++) {
    if (innerStride === 1) {
      for (let j = 0; j < inner; j++) out[o++] = src[base + j]!;
    } else {
      for (let j = 0, s = base; j < inner; j++, s += innerStride) out[o++] = src[s]!;
    }
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += st![d]!;
      if (idx[d]! < dims[d]!) break;
      base -= idx[d]! * st![d]!;
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
