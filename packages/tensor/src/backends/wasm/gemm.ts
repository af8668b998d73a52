import { MAX_POOL_TASKS, runTasks, type WasmThreadPool } from './thread-pool.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
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
/** Where the job parameters live (data comes from `WasmCall`). */
const PARAMS_OFFSET = 0;

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

/** Sets one of the GEMM job's i32 parameters. */
function setParam(runtime: WasmRuntime, key: keyof typeof GEMM_PARAMS, value: number): void {
  runtime.i32[(PARAMS_OFFSET + GEMM_PARAMS[key]) / 4] = value;
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
export function gemm(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  problem: GemmProblem,
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  const { batchA, batchB, batch, m, k, n, transposeA, transposeB } = problem;
  if (batch * m * n === 0 || k === 0) return new Float32Array(batch * m * n);
  const mp = roundUp(m, MR);
  const np = roundUp(n, NR);
  const aStride = align16(mp * k);
  const bStride = align16(k * np);
  const call = new WasmCall(runtime);
  try {
    // Operands are read in place when they live in wasm memory (the heap), else copied in as they are.
    const rawA = call.input(asFloat32(a, batchA * m * k));
    const rawB = call.input(asFloat32(b, batchB * k * n));
    if (batch > 1 && mp <= MC && np <= NC) {
      if (rawA < 0 || rawB < 0) return null;
      return smallBatch(runtime, pool, call, rawA, rawB, problem, allocate);
    }
    const aBase = call.scratch(batchA * aStride);
    const bBase = call.scratch(batchB * bStride);
    // C is written straight into the output when its padded layout is the output's own: whole
    // columns (np = n) and, with several batches, whole rows (mp = m); one batch may spill its
    // padding rows into the output block's spare capacity.
    const direct = np === n && (batch === 1 || mp === m);
    const cStride = direct ? mp * np : align16(mp * np);
    const out = direct ? call.output(batch * m * n, allocate, batch * cStride) : null;
    const cBase = out ? out.address : call.scratch(batch * cStride);
    if (rawA < 0 || rawB < 0 || aBase < 0 || bBase < 0 || cBase < 0) return null;

    const [mc, nc] = blockSizes(batch, mp, np, pool ? pool.size + 1 : 1);
    const rowBlocks = Math.ceil(mp / mc);
    const colBlocks = Math.ceil(np / nc);
    const tasks = batch * rowBlocks * colBlocks;
    const packTasks = batchA * rowBlocks + batchB * colBlocks;
    const set = (key: keyof typeof GEMM_PARAMS, value: number) => setParam(runtime, key, value);
    set('aBase', aBase);
    set('aStride', batchA === 1 ? 0 : aStride * 4);
    set('bBase', bBase);
    set('bStride', batchB === 1 ? 0 : bStride * 4);
    set('cBase', cBase);
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
    set('aRaw', rawA);
    set('bRaw', rawB);
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

    if (out) return out.values();
    const result = allocate(batch * m * n);
    const c = runtime.f32;
    const c0 = cBase / 4;
    for (let p = 0; p < batch; p++) {
      const src = c0 + p * cStride;
      if (np === n) result.set(c.subarray(src, src + m * n), p * m * n);
      else
        for (let i = 0; i < m; i++) result.set(c.subarray(src + i * np, src + i * np + n), (p * m + i) * n);
    }
    return result;
  } finally {
    call.end();
  }
}

/**
 * A batch of products that each fit one MC×NC block (attention's [B·H, L, L] scores and their
 * weighted sums): a few tasks per thread, each packing its items into its own scratch slot and
 * multiplying there (see `batch_task`), instead of one packing task and one product task per item
 * in two pool jobs. The same micro-kernel sums, so the same bits as the general path.
 */
function smallBatch(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  call: WasmCall,
  rawA: number,
  rawB: number,
  { batchA, batchB, batch, m, k, n, transposeA, transposeB }: GemmProblem,
  allocate: Allocate,
): Float32Array | null {
  const mp = roundUp(m, MR);
  const np = roundUp(n, NR);
  const threaded = pool !== null && batch * m * n * k >= MIN_THREADED_MACS;
  const tasks = threaded ? Math.min(batch, 4 * (pool.size + 1), MAX_POOL_TASKS) : 1;
  const perTask = Math.ceil(batch / tasks);
  const total = Math.ceil(batch / perTask);
  const slotFloats = align16(mp * k) + align16(k * np) + align16(mp * np) + 16;
  const slots = call.scratch(total * slotFloats);
  const out = call.output(batch * m * n, allocate);
  if (slots < 0 || out.address < 0) return null;
  const set = (key: keyof typeof GEMM_PARAMS, value: number) => setParam(runtime, key, value);
  set('aRaw', rawA);
  set('bRaw', rawB);
  set('aItemBytes', batchA === 1 ? 0 : m * k * 4);
  set('bItemBytes', batchB === 1 ? 0 : k * n * 4);
  set('cBase', out.address);
  set('cItemBytes', m * n * 4);
  set('soA', transposeA ? 1 : k);
  set('sqA', transposeA ? m : 1);
  set('soB', transposeB ? k : 1);
  set('sqB', transposeB ? 1 : n);
  set('m', m);
  set('n', n);
  set('k', k);
  set('mp', mp);
  set('np', np);
  set('kc', KC);
  set('perTask', perTask);
  set('batch', batch);
  set('slotBase', slots);
  set('slotBytes', slotFloats * 4);
  // C straight into the output only when the tile has no padding rows or columns to spill
  set('direct', mp === m && np === n ? 1 : 0);
  runTasks(runtime, threaded ? pool : null, 'batch_task', total);
  return out.values();
}

/** The first `length` values of `x` as a Float32Array (a view where it already is one). */
function asFloat32(x: ArrayLike<number>, length: number): Float32Array {
  if (x instanceof Float32Array) return x.length === length ? x : x.subarray(0, length);
  return Float32Array.from(Array.prototype.slice.call(x, 0, length) as number[]);
}
