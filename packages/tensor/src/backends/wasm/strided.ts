import { collapseDims, contiguousStrides } from '../../shape.js';
import { forEachBroadcastRun } from '../cpu/kernels/strided.js';

/** Below this many floats the JS block copy is as fast as filling a table and calling wasm. */
export const MIN_STRIDED_FLOATS = 1 << 14;

/**
 * The runs of a strided copy (`out[i] = src[offset + Σ idx_d · strides_d]`, as the cpu kernels'
 * `stridedCopy`) when its innermost dim, after merging dims, is contiguous in the source and a
 * multiple of 4 floats long: the source offset of each output run, and the run's length. Null
 * otherwise (a transpose that moves the last axis, a slice with a step, a broadcast last axis), and
 * for small copies: those stay with the JS kernel.
 *
 * ```ts
 * stridedRuns([32, 4, 64, 64], [16384, 64, 256, 1], 0); // 8192 runs of 64 floats: a head transpose
 * ```
 */
export function stridedRuns(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): { offsets: Int32Array; run: number } | null {
  const {
    shape: dims,
    strides: [st],
  } = collapseDims(shape, [strides]);
  const rank = dims.length;
  if (rank === 0 || st![rank - 1] !== 1) return null;
  const run = dims[rank - 1]!;
  const runs = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  if (run % 4 !== 0 || run * runs < MIN_STRIDED_FLOATS) return null;
  const offsets = new Int32Array(runs);
  let r = 0;
  forEachBroadcastRun(dims, st!, st!, (start) => {
    offsets[r++] = offset + start;
  });
  return { offsets, run };
}

/** The source strides a permutation reads with (`perm[i]`-th source axis as output axis i). */
export function permutedStrides(shape: readonly number[], perm: readonly number[]): number[] {
  const strides = contiguousStrides(shape);
  return perm.map((p) => strides[p]!);
}
