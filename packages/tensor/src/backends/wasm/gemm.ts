import { MAX_POOL_TASKS, type TaskFunction, type WasmThreadPool } from './thread-pool.js';
import { GEMM_PARAMS, GEMM_MR as MR, GEMM_NR as NR } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

/** Rows of C per task (a multiple of MR): with KC, a 64×256 block of packed A (64 KB) stays in L2. */
const MC = 16 * MR;
/** Columns of C per task (a multiple of NR). */
const NC = 256;
/** K per pass over a C block: a KC×NR slice of packed B (8 KB) stays in L1 across the row panels. */
const KC = 256;
/** Below this many multiply-adds, waking workers costs more than it saves. */
const MIN_THREADED_MACS = 1 << 22;
/** Where the job parameters live; data starts after them. */
const PARAMS_OFFSET = 0;
const DATA_OFFSET = 256;

export interface GemmProblem {
  /** Batches of A and of B: each 1 (broadcast) or `batch`. */
  batchA: number;
  batchB: number;
  batch: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;
const align16 = (floats: number) => roundUp(floats, 16);

/**
 * Rows and columns of C per task. A problem with fewer MC×NC blocks than twice the threads (a
 * convolution's weight gradient: C is [O, C·kh·kw], small, with K = N·OH·OW large) is cut into
 * narrower blocks, columns first, so every thread gets work. Blocking never changes the arithmetic:
 * each C element is still summed over k in the same KC chunks, so results stay bit-identical.
 */
function blockSizes(batch: number, mp: number, np: number, threads: number): [number, number] {
  let mc = Math.min(MC, mp);
  let nc = Math.min(NC, np);
  const tasks = () => batch * Math.ceil(mp / mc) * Math.ceil(np / nc);
  while (tasks() < 2 * threads && nc > 4 * NR) nc = roundUp(Math.ceil(nc / 2), NR);
  while (tasks() < 2 * threads && mc > 4 * MR) mc = roundUp(Math.ceil(mc / 2), MR);
  return [mc, nc];
}

/**
 * `C[p] = op(A[p])·op(B[p])` for every batch p in WebAssembly SIMD, optionally spread over a thread
 * pool. Returns null when the problem does not fit in a 32-bit wasm memory (the caller then uses
 * the JS kernel). Output is [batch, m, n], row-major, in an array from `allocate` (every element is
 * written, so it may come uninitialized from the backend's buffer pool).
 *
 * ```ts
 * const c = gemm(runtime, null, a, b, { batchA: 1, batchB: 1, batch: 1, m: 2, k: 3, n: 4,
 *   transposeA: false, transposeB: false }); // Float32Array(8)
 * ```
 */
/** Runs tasks 0..total−1 of `fn` on the pool (the caller's thread included), or here in order. */
function runTasks(runtime: WasmRuntime, pool: WasmThreadPool | null, fn: TaskFunction, total: number): void {
  if (pool?.run(PARAMS_OFFSET, total, fn)) return;
  const run = runtime.exports[fn];
  for (let t = 0; t < total; t++) run(PARAMS_OFFSET, t);
}

export function gemm(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  problem: GemmProblem,
  allocate: (length: number) => Float32Array = (length) => new Float32Array(length),
): Float32Array | null {
  const { batchA, batchB, batch, m, k, n, transposeA, transposeB } = problem;
  if (batch * m * n === 0 || k === 0) return new Float32Array(batch * m * n);
  const mp = roundUp(m, MR);
  const np = roundUp(n, NR);
  const aStride = align16(mp * k);
  const bStride = align16(k * np);
  const cStride = align16(mp * np);
  // Layout (in floats): parameters, raw A, raw B (copied in as they are), packed A, packed B, C.
  const rawA = DATA_OFFSET / 4;
  const rawB = rawA + align16(batchA * m * k);
  const aBase = rawB + align16(batchB * k * n);
  const bBase = aBase + batchA * aStride;
  const cBase = bBase + batchB * bStride;
  const totalBytes = (cBase + batch * cStride) * 4;
  if (totalBytes >= 2 ** 32 - 2 ** 16 || !runtime.reserve(totalBytes)) return null;

  const heap = runtime.f32;
  heap.set(a.length === batchA * m * k ? a : Array.prototype.slice.call(a, 0, batchA * m * k), rawA);
  heap.set(b.length === batchB * k * n ? b : Array.prototype.slice.call(b, 0, batchB * k * n), rawB);

  const [mc, nc] = blockSizes(batch, mp, np, pool ? pool.size + 1 : 1);
  const rowBlocks = Math.ceil(mp / mc);
  const colBlocks = Math.ceil(np / nc);
  const tasks = batch * rowBlocks * colBlocks;
  const packTasks = batchA * rowBlocks + batchB * colBlocks;
  const i32 = runtime.i32;
  const P = PARAMS_OFFSET / 4;
  const set = (key: keyof typeof GEMM_PARAMS, value: number) => {
    i32[P + GEMM_PARAMS[key] / 4] = value;
  };
  set('aBase', aBase * 4);
  set('aStride', batchA === 1 ? 0 : aStride * 4);
  set('bBase', bBase * 4);
  set('bStride', batchB === 1 ? 0 : bStride * 4);
  set('cBase', cBase * 4);
  set('cStride', cStride * 4);
  set('mp', mp);
  set('np', np);
  set('k', k);
  set('kc', KC);
  set('mc', mc);
  set('nc', nc);
  set('rowBlocks', rowBlocks);
  set('colBlocks', colBlocks);
  // op(A)(i, q) is A[i, q] (strides k, 1) or, transposed, A[q, i] (strides 1, m); op(B)(q, j) likewise.
  set('aRaw', rawA * 4);
  set('bRaw', rawB * 4);
  set('aRawStride', m * k);
  set('bRawStride', k * n);
  set('aPackStride', aStride);
  set('bPackStride', bStride);
  set('soA', transposeA ? 1 : k);
  set('sqA', transposeA ? m : 1);
  set('soB', transposeB ? k : 1);
  set('sqB', transposeB ? 1 : n);
  set('m', m);
  set('n', n);
  set('aPackTasks', batchA * rowBlocks);

  const threaded =
    pool !== null &&
    tasks > 1 &&
    tasks <= MAX_POOL_TASKS &&
    packTasks <= MAX_POOL_TASKS &&
    batch * m * n * k >= MIN_THREADED_MACS;
  // Packing first (every task reads packed panels of both operands), then the GEMM tasks.
  runTasks(runtime, threaded ? pool : null, 'pack_task', packTasks);
  runTasks(runtime, threaded ? pool : null, 'run_task', tasks);

  const out = allocate(batch * m * n);
  const c = runtime.f32;
  for (let p = 0; p < batch; p++) {
    const src = cBase + p * cStride;
    if (np === n) out.set(c.subarray(src, src + m * n), p * m * n);
    else for (let i = 0; i < m; i++) out.set(c.subarray(src + i * np, src + i * np + n), (p * m + i) * n);
  }
  return out;
}
