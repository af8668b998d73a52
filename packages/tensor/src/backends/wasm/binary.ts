import { broadcastShapes, broadcastStrides, sizeOf } from '../../shape.js';
import { forEachBroadcastRun } from '../cpu/kernels/strided.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
import type { BINARY_OPS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

export type WasmBinaryOp = (typeof BINARY_OPS)[number];

/** Below this many outputs, or with broadcast runs shorter than this, the JS loop is as fast. */
const MIN_ELEMENTS = 1024;
const MIN_RUN = 16;

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
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  const shape = broadcastShapes(op, aShape, bShape);
  const size = sizeOf(shape);
  if (size < MIN_ELEMENTS) return null;
  const call = new WasmCall(runtime);
  // Both operands full size and not in wasm memory: for add/sub/mul the JS kernel's single flat
  // pass moves less memory than copying both in and the result out. relu_grad and gelu_grad stay
  // here: relu's JS loop branches on the sign of x, which mispredicts half the time, and gelu's
  // backward is compute-bound (an exp and a division).
  const sameShape = a.length === size && b.length === size;
  if (op === 'gelu_grad' && !sameShape) return null;
  const inPlace = call.resident(a) && call.resident(b);
  if (op !== 'relu_grad' && op !== 'gelu_grad' && sameShape && !inPlace) return null;
  const aStrides = broadcastStrides(aShape, shape);
  const bStrides = broadcastStrides(bShape, shape);
  let shortRuns = false;
  forEachBroadcastRun(shape, aStrides, bStrides, (_a, _b, o, n) => {
    if (o === 0) shortRuns = n < MIN_RUN;
  });
  if (shortRuns) return null;

  try {
    const aAt = call.input(a);
    const bAt = call.input(b);
    // Blocks have 16 bytes of slack: the last run's vector loop may write up to 3 floats past the end.
    const out = call.output(size, allocate);
    if (aAt < 0 || bAt < 0 || out.address < 0) return null;
    const run = runtime.exports[op];
    // Runs are written in order, so a run's vector tail past its end is overwritten by the next run.
    forEachBroadcastRun(shape, aStrides, bStrides, (ai, bi, o, n, as, bs) => {
      const mode = as === 1 ? (bs === 1 ? 0 : 1) : bs === 1 ? 2 : 3;
      run(aAt + ai * 4, bAt + bi * 4, out.address + o * 4, Math.ceil(n / 4), mode);
    });
    return out.values();
  } finally {
    call.end();
  }
}
