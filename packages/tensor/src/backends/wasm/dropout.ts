import { runTasks, type WasmThreadPool } from './thread-pool.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
import { DROPOUT_PARAMS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

const PARAMS_OFFSET = 0;
/** Draws per pool task; each task first jumps the stream ahead to its start (≈ 20 steps). */
const CHUNK = 65536;

/** A dropout call: keep where a draw's 24 bits ≥ `threshold`, scale kept values by `scale`. */
export interface DropoutJob {
  threshold: number;
  scale: number;
  /** The generator's PCG state before the first draw, in two 32-bit halves. */
  stateHi: number;
  stateLo: number;
}

/**
 * `x · mask` with the mask drawn on the fly from the generator's stream (one PCG step per element,
 * the same numbers `Generator.fillUniform` gives), in chunks over the pool. No mask is stored, and
 * the result does not depend on the thread count. Null when `x` does not fit in wasm memory.
 *
 * ```ts
 * dropoutWasm(runtime, pool, x, { threshold: 1677722, scale: Math.fround(1 / 0.9), stateHi, stateLo });
 * ```
 */
export function dropoutWasm(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  x: Float32Array,
  job: DropoutJob,
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  const n = x.length;
  if (n === 0) return allocate(0);
  const call = new WasmCall(runtime);
  try {
    const src = call.input(x);
    const out = call.output(n, allocate);
    if (src < 0 || out.address < 0) return null;
    const i32 = runtime.i32;
    const at = PARAMS_OFFSET / 4;
    i32[at + DROPOUT_PARAMS.src / 4] = src;
    i32[at + DROPOUT_PARAMS.dst / 4] = out.address;
    i32[at + DROPOUT_PARAMS.count / 4] = n;
    i32[at + DROPOUT_PARAMS.chunk / 4] = CHUNK;
    i32[at + DROPOUT_PARAMS.threshold / 4] = job.threshold;
    runtime.f32[at + DROPOUT_PARAMS.scale / 4] = job.scale;
    // the i64 state, little-endian
    i32[at + DROPOUT_PARAMS.state / 4] = job.stateLo | 0;
    i32[at + DROPOUT_PARAMS.state / 4 + 1] = job.stateHi | 0;
    const tasks = Math.ceil(n / CHUNK);
    runTasks(runtime, pool, 'dropout_task', tasks, PARAMS_OFFSET);
    return out.values();
  } finally {
    call.end();
  }
}
