import { MAX_POOL_TASKS, type WasmThreadPool } from './thread-pool.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
import { UNARY_OPS, UNARY_PARAMS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

export type WasmUnaryOp = (typeof UNARY_OPS)[number];

const PARAMS_OFFSET = 0;
/** Vectors per pool task (64 K floats); inputs smaller than two tasks stay on the calling thread. */
const CHUNK = 16384;

/**
 * `op` over every element of `x` in WebAssembly SIMD, in chunks over the pool when given one (f32x4; exp, sigmoid and tanh from the Cephes
 * single-precision approximations, within a few float32 ulps of Math.exp/Math.tanh). Returns null
 * when `x` does not fit in wasm memory (the caller then uses the JS kernel).
 *
 * ```ts
 * unary(runtime, null, 'relu', new Float32Array([-1, 2])); // Float32Array [0, 2]
 * ```
 */
export function unary(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  op: WasmUnaryOp,
  x: Float32Array,
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  const n = x.length;
  if (n === 0) return new Float32Array(0);
  const vectors = Math.ceil(n / 4);
  const call = new WasmCall(runtime);
  try {
    const src = call.input(x);
    // Blocks have 16 bytes of slack for the last vector's spare lanes.
    const out = call.output(n, allocate);
    if (src < 0 || out.address < 0) return null;
    const tasks = Math.ceil(vectors / CHUNK);
    let done = false;
    if (pool && tasks > 1 && tasks <= MAX_POOL_TASKS) {
      const i32 = runtime.i32;
      const at = PARAMS_OFFSET / 4;
      i32[at + UNARY_PARAMS.op / 4] = UNARY_OPS.indexOf(op);
      i32[at + UNARY_PARAMS.src / 4] = src;
      i32[at + UNARY_PARAMS.dst / 4] = out.address;
      i32[at + UNARY_PARAMS.count / 4] = vectors;
      i32[at + UNARY_PARAMS.chunk / 4] = CHUNK;
      done = pool.run(PARAMS_OFFSET, tasks, 'unary_task');
    }
    if (!done) runtime.exports[op](src, out.address, vectors);
    return out.values();
  } finally {
    call.end();
  }
}
