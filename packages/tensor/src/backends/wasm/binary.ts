import { broadcastShapes, broadcastStrides, sizeOf } from '../../shape.js';
import { forEachBroadcastRun } from '../cpu/kernels/strided.js';
import type { BINARY_OPS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

export type WasmBinaryOp = (typeof BINARY_OPS)[number];

const DATA_OFFSET = 256;
/** Below this many outputs, or with broadcast runs shorter than this, the JS loop is as fast. */
const MIN_ELEMENTS = 1024;
const MIN_RUN = 16;

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * `a op b` with broadcasting, in WebAssembly SIMD: each innermost run of the broadcast (a row, or a
 * row against one repeated value) is one f32x4 loop. Returns null where the JS kernel is as fast or
 * the operands do not fit in wasm memory; the caller then runs it.
 *
 * ```ts
 * binary(runtime, 'add', x, [4096, 1024], bias, [1024]); // Float32Array(4096·1024)
 * ```
 */
export function binary(
  runtime: WasmRuntime,
  op: WasmBinaryOp,
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  allocate: (length: number) => Float32Array = (length) => new Float32Array(length),
): Float32Array | null {
  const shape = broadcastShapes(op, aShape, bShape);
  const size = sizeOf(shape);
  if (size < MIN_ELEMENTS) return null;
  // Both operands full size: for add/sub/mul the JS kernel's single flat pass moves less memory
  // than copying both in and the result out (storage lives in JS typed arrays, not in wasm memory).
  // relu_grad and gelu_grad stay here: relu's JS loop branches on the sign of x, which
  // mispredicts half the time, and gelu's backward is compute-bound (an exp and a division).
  const sameShape = a.length === size && b.length === size;
  if (op === 'gelu_grad' && !sameShape) return null;
  if (op !== 'relu_grad' && op !== 'gelu_grad' && sameShape) return null;
  const aStrides = broadcastStrides(aShape, shape);
  const bStrides = broadcastStrides(bShape, shape);
  let shortRuns = false;
  forEachBroadcastRun(shape, aStrides, bStrides, (_a, _b, o, n) => {
    if (o === 0) shortRuns = n < MIN_RUN;
  });
  if (shortRuns) return null;

  const aAt = DATA_OFFSET / 4;
  const bAt = aAt + align4(a.length + 4);
  const out = bAt + align4(b.length + 4);
  // The last run's vector loop may write up to 3 floats past the end.
  const bytes = (out + align4(size) + 4) * 4;
  if (bytes >= 2 ** 32 - 2 ** 16 || !runtime.reserve(bytes)) return null;
  const heap = runtime.f32;
  heap.set(a, aAt);
  heap.set(b, bAt);
  const run = runtime.exports[op];
  // Runs are written in order, so a run's vector tail past its end is overwritten by the next run.
  forEachBroadcastRun(shape, aStrides, bStrides, (ai, bi, o, n, as, bs) => {
    const mode = as === 1 ? (bs === 1 ? 0 : 1) : bs === 1 ? 2 : 3;
    run((aAt + ai) * 4, (bAt + bi) * 4, (out + o) * 4, Math.ceil(n / 4), mode);
  });
  const result = allocate(size);
  result.set(heap.subarray(out, out + size));
  return result;
}
