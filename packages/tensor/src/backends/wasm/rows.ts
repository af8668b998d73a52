import { MAX_POOL_TASKS, type WasmThreadPool } from './thread-pool.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
import { ROW_OPS, ROW_PARAMS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

export type WasmRowOp = (typeof ROW_OPS)[number];

const PARAMS_OFFSET = 0;
/** Floats per pool task; inputs under two tasks' worth stay on the calling thread. */
const TASK_FLOATS = 32768;

/**
 * Softmax or layerNorm (with `weight`, `bias`, `eps`) over rows of `d` floats in WebAssembly SIMD,
 * rows spread over the pool when given one. Each row is computed whole by one thread, so the
 * result does not depend on the thread count. Returns null where the JS kernel should run: `d` not
 * a multiple of 4 (rows would not start on a vector) or data beyond wasm memory.
 *
 * ```ts
 * rowwise(runtime, null, 'softmax', logits, 1024); // Float32Array like logits
 * ```
 */
export function rowwise(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  op: WasmRowOp,
  x: Float32Array,
  d: number,
  layerNorm?: { weight: Float32Array; bias: Float32Array; eps: number },
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  if (d === 0 || d % 4 !== 0 || x.length === 0) return null;
  const rows = x.length / d;
  const call = new WasmCall(runtime);
  try {
    const src = call.input(x);
    const w = layerNorm ? call.input(layerNorm.weight) : 0;
    const b = layerNorm ? call.input(layerNorm.bias) : 0;
    const out = call.output(x.length, allocate);
    if (src < 0 || w < 0 || b < 0 || out.address < 0) return null;
    const taskRows = Math.max(1, Math.floor(TASK_FLOATS / d));
    const at = PARAMS_OFFSET / 4;
    const i32 = runtime.i32;
    i32[at + ROW_PARAMS.op / 4] = ROW_OPS.indexOf(op);
    i32[at + ROW_PARAMS.src / 4] = src;
    i32[at + ROW_PARAMS.dst / 4] = out.address;
    i32[at + ROW_PARAMS.w / 4] = w;
    i32[at + ROW_PARAMS.b / 4] = b;
    i32[at + ROW_PARAMS.rows / 4] = rows;
    i32[at + ROW_PARAMS.d / 4] = d;
    runtime.f32[at + ROW_PARAMS.eps / 4] = layerNorm?.eps ?? 0;
    i32[at + ROW_PARAMS.chunk / 4] = taskRows;
    const tasks = Math.ceil(rows / taskRows);
    if (!pool || tasks <= 1 || tasks > MAX_POOL_TASKS || !pool.run(PARAMS_OFFSET, tasks, 'rows_task')) {
      for (let t = 0; t < tasks; t++) runtime.exports.rows_task(PARAMS_OFFSET, t);
    }
    return out.values();
  } finally {
    call.end();
  }
}
