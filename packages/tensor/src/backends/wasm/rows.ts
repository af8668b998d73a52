import { runTasks, type WasmThreadPool } from './thread-pool.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
import { ROW_OPS, ROW_PARAMS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

export type WasmRowOp = 'softmax' | 'layernorm';

const PARAMS_OFFSET = 0;
/** Floats per pool task; inputs under two tasks' worth stay on the calling thread. */
const TASK_FLOATS = 32768;

/** Addresses of one row-wise job's operands (0 where the op takes none); `b` is dy for the backward ops. */
interface RowJob {
  src: number;
  dst: number;
  w: number;
  b: number;
}

/** Runs `op` over `rows` rows of `d`, `taskRows` rows per task, over the pool when it has one. */
function runRows(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  op: (typeof ROW_OPS)[number],
  job: RowJob,
  rows: number,
  d: number,
  eps: number,
  taskRows: number,
): void {
  const at = PARAMS_OFFSET / 4;
  const i32 = runtime.i32;
  i32[at + ROW_PARAMS.op / 4] = ROW_OPS.indexOf(op);
  i32[at + ROW_PARAMS.src / 4] = job.src;
  i32[at + ROW_PARAMS.dst / 4] = job.dst;
  i32[at + ROW_PARAMS.w / 4] = job.w;
  i32[at + ROW_PARAMS.b / 4] = job.b;
  i32[at + ROW_PARAMS.rows / 4] = rows;
  i32[at + ROW_PARAMS.d / 4] = d;
  runtime.f32[at + ROW_PARAMS.eps / 4] = eps;
  // the backward kernels take eps as the float64 the JS kernels compute with
  if (op === 'layernorm_grad' || op === 'layernorm_stats')
    new Float64Array(runtime.memory.buffer, PARAMS_OFFSET + ROW_PARAMS.eps64, 1)[0] = eps;
  i32[at + ROW_PARAMS.chunk / 4] = taskRows;
  const tasks = Math.ceil(rows / taskRows);
  runTasks(runtime, pool, 'rows_task', tasks, PARAMS_OFFSET);
}

/** Rows per task: about TASK_FLOATS floats, at least one row. */
const rowsPerTask = (d: number) => Math.max(1, Math.floor(TASK_FLOATS / d));

/** Whether rows of `d` can run in SIMD: each row must start on a vector. */
const simdRows = (d: number, length: number) => d > 0 && d % 4 === 0 && length > 0;

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
  if (!simdRows(d, x.length)) return null;
  const call = new WasmCall(runtime);
  try {
    const src = call.input(x);
    const w = layerNorm ? call.input(layerNorm.weight) : 0;
    const b = layerNorm ? call.input(layerNorm.bias) : 0;
    const out = call.output(x.length, allocate);
    if (src < 0 || w < 0 || b < 0 || out.address < 0) return null;
    const job = { src, dst: out.address, w, b };
    runRows(runtime, pool, op, job, x.length / d, d, layerNorm?.eps ?? 0, rowsPerTask(d));
    return out.values();
  } finally {
    call.end();
  }
}

/**
 * LayerNorm's backward for x over rows of `d`: `dx = rstd · (g − mean(g) − x̂ · mean(g · x̂))`,
 * g = dy · weight, in float64 with the JS kernel's operations in its order (its bits), each row on
 * one thread, rows over the pool. Null where the JS kernel should run (as `rowwise`).
 */
export function layerNormGradRows(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  x: Float32Array,
  weight: Float32Array,
  dy: Float32Array,
  d: number,
  eps: number,
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  if (!simdRows(d, x.length) || dy.length !== x.length) return null;
  const call = new WasmCall(runtime);
  try {
    const src = call.input(x);
    const w = call.input(weight);
    const g = call.input(dy);
    const out = call.output(x.length, allocate);
    if (src < 0 || w < 0 || g < 0 || out.address < 0) return null;
    runRows(
      runtime,
      pool,
      'layernorm_grad',
      { src, dst: out.address, w, b: g },
      x.length / d,
      d,
      eps,
      rowsPerTask(d),
    );
    return out.values();
  } finally {
    call.end();
  }
}

/** Columns per task of the parameter-gradient sums (eight: four float64 lane pairs in registers). */
const PARAM_COLUMNS = 8;

/**
 * LayerNorm's backward for weight and bias: `[2, d]`, Σ dy·x̂ then Σ dy over the rows. First each
 * row's float64 mean and 1/√(var + eps) (rows over the pool), then blocks of columns over the pool,
 * each column summing its rows in order in float64: the JS kernel's bits, whatever the thread
 * count. Null as `rowwise`.
 */
export function layerNormParamGradRows(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  x: Float32Array,
  dy: Float32Array,
  d: number,
  eps: number,
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  if (!simdRows(d, x.length) || dy.length !== x.length) return null;
  const rows = x.length / d;
  const call = new WasmCall(runtime);
  try {
    const src = call.input(x);
    const g = call.input(dy);
    const stats = call.scratch(4 * rows); // two float64 a row
    const out = call.output(2 * d, allocate);
    if (src < 0 || g < 0 || stats < 0 || out.address < 0) return null;
    runRows(runtime, pool, 'layernorm_stats', { src, dst: stats, w: 0, b: 0 }, rows, d, eps, rowsPerTask(d));
    const at = PARAMS_OFFSET / 4;
    const i32 = runtime.i32;
    i32[at + ROW_PARAMS.src / 4] = src;
    i32[at + ROW_PARAMS.b / 4] = g;
    i32[at + ROW_PARAMS.w / 4] = stats;
    i32[at + ROW_PARAMS.dst / 4] = out.address;
    i32[at + ROW_PARAMS.rows / 4] = rows;
    i32[at + ROW_PARAMS.d / 4] = d;
    i32[at + ROW_PARAMS.chunk / 4] = PARAM_COLUMNS;
    const tasks = Math.ceil(d / PARAM_COLUMNS);
    runTasks(runtime, pool, 'ln_param_task', tasks, PARAMS_OFFSET);
    return out.values();
  } finally {
    call.end();
  }
}
