import { MAX_POOL_TASKS, type WasmThreadPool } from './thread-pool.js';
import { ROW_OPS, ROW_PARAMS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

export type WasmRowOp = (typeof ROW_OPS)[number];

const PARAMS_OFFSET = 0;
const DATA_OFFSET = 256;
/** Floats per pool task; inputs under two tasks' worth stay on the calling thread. */
const TASK_FLOATS = 32768;
/** Blocks a large input is pipelined in (copy in / compute / copy out overlap); at most 4 (params space). */
const BLOCKS = 4;

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
  const b_ = w + d;
  const bytes = (b_ + d) * 4;
  if (bytes >= 2 ** 32 - 2 ** 16 || !runtime.reserve(bytes)) return null;
  if (layerNorm) {
    runtime.f32.set(layerNorm.weight, w);
    runtime.f32.set(layerNorm.bias, b_);
  }
  const taskRows = Math.max(1, Math.floor(TASK_FLOATS / d));
  const out = allocate(x.length);
  const heapNow = () => runtime.f32;
  // Blocks of rows, each one pool job with its own parameter block (64 bytes apart).
  const blockRows = pool ? Math.max(taskRows, Math.ceil(rows / BLOCKS)) : rows;
  const blocks = Math.ceil(rows / blockRows);
  const setParams = (b: number) => {
    const r0 = b * blockRows;
    const n = Math.min(blockRows, rows - r0);
    const at = (PARAMS_OFFSET + 64 * b) / 4;
    const i32 = runtime.i32;
    i32[at + ROW_PARAMS.op / 4] = ROW_OPS.indexOf(op);
    i32[at + ROW_PARAMS.src / 4] = (src + r0 * d) * 4;
    i32[at + ROW_PARAMS.dst / 4] = (dst + r0 * d) * 4;
    i32[at + ROW_PARAMS.w / 4] = w * 4;
    i32[at + ROW_PARAMS.b / 4] = b_ * 4;
    i32[at + ROW_PARAMS.rows / 4] = n;
    i32[at + ROW_PARAMS.d / 4] = d;
    heapNow()[at + ROW_PARAMS.eps / 4] = layerNorm?.eps ?? 0;
    i32[at + ROW_PARAMS.chunk / 4] = taskRows;
    return { params: PARAMS_OFFSET + 64 * b, tasks: Math.ceil(n / taskRows), r0, n };
  };
  const copyIn = (b: number) => {
    const r0 = b * blockRows;
    const end = Math.min(rows, r0 + blockRows) * d;
    heapNow().set(x.subarray(r0 * d, end), src + r0 * d);
  };
  const copyOut = (b: number) => {
    const r0 = b * blockRows;
    const end = Math.min(rows, r0 + blockRows) * d;
    out.set(heapNow().subarray(dst + r0 * d, dst + end), r0 * d);
  };
  const runHere = (params: number, tasks: number) => {
    for (let t = 0; t < tasks; t++) runtime.exports.rows_task(params, t);
  };
  if (!pool || blocks === 1) {
    copyIn(0);
    const { params, tasks } = setParams(0);
    if (!pool || tasks <= 1 || tasks > MAX_POOL_TASKS || !pool.run(params, tasks, 'rows_task'))
      runHere(params, tasks);
    copyOut(0);
    return out;
  }
  // Pipelined: the workers compute block b while this thread copies block b+1 in and block b−1
  // out, so most of the copying hides behind the computation.
  copyIn(0);
  let current = setParams(0);
  let job = pool.start(current.params, current.tasks, 'rows_task');
  for (let b = 1; b <= blocks; b++) {
    if (b < blocks) copyIn(b);
    if (!pool.finish(job)) runHere(current.params, current.tasks);
    const finished = b - 1;
    if (b < blocks) {
      current = setParams(b);
      job = pool.start(current.params, current.tasks, 'rows_task');
    }
    copyOut(finished);
  }
  return out;
}
