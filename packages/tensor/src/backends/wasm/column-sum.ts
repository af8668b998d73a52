import { runTasks, type WasmThreadPool } from './thread-pool.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
import { COLSUM_PARAMS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

const PARAMS_OFFSET = 0;
/** Columns per task: sixteen at a time in the kernel, so a multiple of 16. */
const CHUNK = 16;

/**
 * Sums `x` = [outer, rows, inner] over its middle axis (a bias gradient: [tokens, features] over the
 * tokens) into [outer, inner], in float64 lanes with each column adding its rows in order and
 * rounded once: bit-identical to the JS kernel, whatever the split of columns over the pool. Null
 * where the JS kernel should run (`inner` not a multiple of 4, data beyond wasm memory).
 *
 * ```ts
 * columnSum(runtime, pool, dy, 1, 2048, 256); // Float32Array(256)
 * ```
 */
export function columnSum(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  x: Float32Array,
  outer: number,
  rows: number,
  inner: number,
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  if (inner % 4 !== 0 || outer * inner === 0 || rows === 0) return null;
  const call = new WasmCall(runtime);
  try {
    const src = call.input(x);
    const out = call.output(outer * inner, allocate);
    if (src < 0 || out.address < 0) return null;
    const i32 = runtime.i32;
    const set = (key: keyof typeof COLSUM_PARAMS, value: number) => {
      i32[(PARAMS_OFFSET + COLSUM_PARAMS[key]) / 4] = value;
    };
    set('src', src);
    set('dst', out.address);
    set('outer', outer);
    set('rows', rows);
    set('inner', inner);
    set('chunk', CHUNK);
    const tasks = outer * Math.ceil(inner / CHUNK);
    runTasks(runtime, pool, 'colsum_task', tasks, PARAMS_OFFSET);
    return out.values();
  } finally {
    call.end();
  }
}
