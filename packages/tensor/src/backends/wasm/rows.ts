import { MAX_POOL_TASKS, type WasmThreadPool } from './thread-pool.js';
import { ROW_OPS, ROW_PARAMS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

export type WasmRowOp = (typeof ROW_OPS)[number];

const PARAMS_OFFSET = 0;
const DATA_OFFSET = 256;
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
  allocate: (length: number) => Float32Array = (length) => new Float32Array(length),
): Float32Array | null {
  if (d === 0 || d % 4 !== 0 || x.length === 0) return null;
  const rows = x.length / d;
  const src = DATA_OFFSET / 4;
  const dst = src + x.length;
  const w = dst + x.length;
  const b = w + d;
  const bytes = (b + d) * 4;
  if (bytes >= 2 ** 32 - 2 ** 16 || !runtime.reserve(bytes)) return null;
  const heap = runtime.f32;
  heap.set(x, src);
  if (layerNorm) {
    heap.set(layerNorm.weight, w);
    heap.set(layerNorm.bias, b);
  }
  const chunk = Math.max(1, Math.floor(TASK_FLOATS / d));
  const tasks = Math.ceil(rows / chunk);
  const i32 = runtime.i32;
  const at = PARAMS_OFFSET / 4;
  i32[at + ROW_PARAMS.op / 4] = ROW_OPS.indexOf(op);
  i32[at + ROW_PARAMS.src / 4] = src * 4;
  i32[at + ROW_PARAMS.dst / 4] = dst * 4;
  i32[at + ROW_PARAMS.w / 4] = w * 4;
  i32[at + ROW_PARAMS.b / 4] = b * 4;
  i32[at + ROW_PARAMS.rows / 4] = rows;
  i32[at + ROW_PARAMS.d / 4] = d;
  heap[at + ROW_PARAMS.eps / 4] = layerNorm?.eps ?? 0;
  i32[at + ROW_PARAMS.chunk / 4] = chunk;
  const threaded = pool !== null && tasks > 1 && tasks <= MAX_POOL_TASKS;
  if (!threaded || !pool.run(PARAMS_OFFSET, tasks, 'rows_task')) {
    for (let t = 0; t < tasks; t++) runtime.exports.rows_task(PARAMS_OFFSET, t);
  }
  const out = allocate(x.length);
  out.set(runtime.f32.subarray(dst, dst + x.length));
  return out;
}
