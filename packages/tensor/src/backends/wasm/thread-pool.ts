import type { WasmRuntime } from './wasm-runtime.js';

/**
 * Slots of the control block (an Int32Array over its own SharedArrayBuffer):
 * CLAIM = generation << 16 | next task (claimed by compare-and-swap, so a late worker still
 * holding an older job can never take a task of the current one), DONE = tasks finished,
 * FAILED = a task threw, BY_WORKERS = tasks completed off the main thread (for tests and stats).
 * The job itself is published in JOB_* under a sequence lock: SEQ is odd while the caller writes
 * them and even once they are complete; workers sleep in `Atomics.wait` on SEQ. (A postMessage per
 * job cost about 1 ms of the caller's time here, ~40 ms of a 650 ms training step.)
 */
const CLAIM = 0;
const DONE = 1;
const FAILED = 2;
const BY_WORKERS = 3;
const SEQ = 4;
const JOB_GEN = 5;
const JOB_TOTAL = 6;
const JOB_PARAMS = 7;
const JOB_FN = 8;
const CONTROL_SLOTS = 9;
/** Task functions by their index in JOB_FN. */
const TASK_FUNCTIONS = [
  'run_task',
  'pack_task',
  'unary_task',
  'rows_task',
  'taps_task',
  'dropout_task',
  'colsum_task',
  'batch_task',
  'ln_param_task',
] as const;
/** Tasks per job fit in the 16 low bits of CLAIM. */
export const MAX_POOL_TASKS = 0xffff;

/** The module exports a pool can run as tasks. */
export type TaskFunction = (typeof TASK_FUNCTIONS)[number];

interface Job {
  gen: number;
  total: number;
  params: number;
  fn: TaskFunction;
}

/** A job `start` published, to pass to `finish`. */
export type PoolJob = Readonly<Job>;

/**
 * The loop every thread runs for a job: claim the next task of this generation, run it, count it
 * done. WORKER_CORE repeats it as source text (a function's `toString()` would break under coverage
 * instrumentation or bundlers); keep the two in step.
 */
function claimTasks(
  ctl: Int32Array,
  job: Job,
  runTask: (params: number, t: number) => void,
  onWorker: boolean,
): void {
  for (;;) {
    const v = Atomics.load(ctl, CLAIM);
    if (v >>> 16 !== job.gen || (v & 0xffff) >= job.total) return;
    if (Atomics.compareExchange(ctl, CLAIM, v, v + 1) !== v) continue;
    try {
      runTask(job.params, v & 0xffff);
      if (onWorker) Atomics.add(ctl, BY_WORKERS, 1);
    } catch {
      Atomics.store(ctl, FAILED, 1);
    }
    if (Atomics.add(ctl, DONE, 1) + 1 === job.total) Atomics.notify(ctl, DONE);
  }
}

/**
 * Shared by the Node and browser workers: instantiate on the shared memory, report ready, then
 * sleep on SEQ and serve each published job (slot numbers as above; keep the two in step).
 */
const WORKER_CORE = `
function claimTasks(ctl, job, runTask, onWorker) {
  for (;;) {
    const v = Atomics.load(ctl, 0);
    if (v >>> 16 !== job.gen || (v & 0xffff) >= job.total) return;
    if (Atomics.compareExchange(ctl, 0, v, v + 1) !== v) continue;
    try {
      runTask(job.params, v & 0xffff);
      if (onWorker) Atomics.add(ctl, 3, 1);
    } catch {
      Atomics.store(ctl, 2, 1);
    }
    if (Atomics.add(ctl, 1, 1) + 1 === job.total) Atomics.notify(ctl, 1);
  }
}
const FUNCTIONS = ${JSON.stringify(TASK_FUNCTIONS)};
function serve(init, ready) {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const ctl = new Int32Array(init.control);
  ready();
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, 4, seen);
    const before = Atomics.load(ctl, 4);
    if (before & 1) continue; // the caller is writing the next job
    const job = { gen: Atomics.load(ctl, 5), total: Atomics.load(ctl, 6), params: Atomics.load(ctl, 7) };
    const fn = instance.exports[FUNCTIONS[Atomics.load(ctl, 8)]];
    if (Atomics.load(ctl, 4) !== before) continue; // torn read: a newer job arrived meanwhile
    seen = before;
    claimTasks(ctl, job, fn, true);
  }
}
`;

const NODE_WORKER = `${WORKER_CORE}
const { parentPort, workerData } = require('node:worker_threads');
serve(workerData, () => parentPort.postMessage('ready'));
`;

const BROWSER_WORKER = `${WORKER_CORE}
self.onmessage = (e) => serve(e.data, () => self.postMessage('ready'));
`;

interface PoolWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
  /** Node only: whether the worker keeps the event loop alive. */
  ref?(): void;
  unref?(): void;
}

interface NodeWorkerModule {
  Worker: new (
    source: string,
    options: { eval: true; workerData: unknown },
  ) => PoolWorker & { on(event: string, listener: (m: unknown) => void): void };
  isMainThread: boolean;
}

const nodeProcess = (): NodeJS.Process | undefined =>
  (globalThis as { process?: NodeJS.Process }).process?.versions?.node ? globalThis.process : undefined;

/** Node's worker_threads when running in Node 20.16+ (`process.getBuiltinModule`), else undefined. */
function nodeWorkerThreads(): NodeWorkerModule | undefined {
  const proc = nodeProcess();
  return proc?.getBuiltinModule?.('node:worker_threads') as NodeWorkerModule | undefined;
}

/**
 * Whether this thread may block in `Atomics.wait` and start workers sharing a memory: Node (main
 * thread included), or a cross-origin-isolated browser worker. A browser main thread may not block,
 * so the wasm backend runs single-threaded there.
 */
/**
 * Runs tasks 0..total−1 of the job whose parameters start at byte `params`: on the pool (the
 * calling thread included) when there is one and more than one task, else here in order (also
 * when a worker's task failed: `run` then returns false and the job is rerun whole).
 */
export function runTasks(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  fn: TaskFunction,
  total: number,
  params = 0,
): void {
  if (pool && total > 1 && total <= MAX_POOL_TASKS && pool.run(params, total, fn)) return;
  const run = runtime.exports[fn];
  for (let t = 0; t < total; t++) run(params, t);
}

export function threadsSupported(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  if (nodeWorkerThreads()) return true;
  const g = globalThis as { crossOriginIsolated?: boolean; WorkerGlobalScope?: unknown; Worker?: unknown };
  return g.crossOriginIsolated === true && g.WorkerGlobalScope !== undefined && g.Worker !== undefined;
}

/** Logical cores available to this process (Node) or reported by the browser. */
export function hardwareThreads(): number {
  const os = nodeProcess()?.getBuiltinModule?.('node:os') as
    | { availableParallelism?: () => number }
    | undefined;
  const n = os?.availableParallelism?.() ?? (globalThis.navigator?.hardwareConcurrency || 1);
  return Math.max(1, n);
}

/**
 * Worker threads that compute GEMM tasks in the runtime's shared memory alongside the calling
 * thread. Created lazily by the backend, never keeps a Node process alive (workers are `unref`ed),
 * and a task's result does not depend on which thread ran it.
 *
 * ```ts
 * const pool = WasmThreadPool.create(runtime, 1); // one worker + the calling thread
 * pool?.run(paramsOffset, tasks, 'run_task'); // tasks 0..tasks−1 of the job at paramsOffset
 * ```
 */
export class WasmThreadPool {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_SLOTS));
  private gen = 0;
  private readyCount = 0;
  private readonly readyWaiters: (() => void)[] = [];

  private constructor(
    private readonly workers: PoolWorker[],
    private readonly runtime: WasmRuntime,
  ) {}

  /** A pool of `workers` threads on `runtime`'s shared memory, or null where threads are unavailable. */
  static create(runtime: WasmRuntime, workers: number): WasmThreadPool | null {
    if (!runtime.shared || workers < 1 || !threadsSupported()) return null;
    const list: PoolWorker[] = [];
    const pool = new WasmThreadPool(list, runtime);
    const init = { module: runtime.module, memory: runtime.memory, control: pool.control.buffer };
    const onReady = (m: unknown) => {
      if (m !== 'ready') return;
      pool.readyCount++;
      if (pool.readyCount === list.length) for (const w of pool.readyWaiters.splice(0)) w();
    };
    try {
      const wt = nodeWorkerThreads();
      for (let i = 0; i < workers; i++) {
        if (wt) {
          const w = new wt.Worker(NODE_WORKER, { eval: true, workerData: init });
          w.on('message', onReady);
          // A worker that failed to start takes no tasks; count it so that warmUp() still resolves.
          w.on('error', () => onReady('ready'));
          // After `on('message')`, which would otherwise ref the worker again and keep Node alive.
          w.unref?.();
          list.push(w);
        } else {
          const url = URL.createObjectURL(new Blob([BROWSER_WORKER], { type: 'text/javascript' }));
          const w = new Worker(url);
          w.onmessage = (e) => onReady(e.data);
          w.postMessage(init);
          list.push(w);
        }
      }
    } catch {
      for (const w of list) w.terminate();
      return null;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Resolves once every worker has instantiated the module (until then the caller does more of the work). */
  whenReady(): Promise<void> {
    if (this.readyCount === this.workers.length) return Promise.resolve();
    // Someone awaits the workers: keep Node alive until they report, then let go again.
    for (const w of this.workers) w.ref?.();
    return new Promise((resolve) =>
      this.readyWaiters.push(() => {
        for (const w of this.workers) w.unref?.();
        resolve();
      }),
    );
  }

  /** Tasks run by workers so far (the rest ran on the calling thread). */
  get tasksOnWorkers(): number {
    return Atomics.load(this.control, BY_WORKERS);
  }

  /**
   * Runs tasks 0..total-1 of the job at `params` (`fn`: the module export that runs one task) on
   * the workers and the calling thread, blocking until all are done. Workers that have not started
   * yet simply take no tasks, so this cannot deadlock; the caller only ever waits for tasks that a
   * running worker has claimed. Returns false when a worker's task failed (the caller then reruns
   * the job itself).
   */
  run(params: number, total: number, fn: TaskFunction = 'run_task'): boolean {
    return this.finish(this.start(params, total, fn));
  }

  /**
   * Publishes a job and returns at once: the workers start on it while the caller does something
   * else (copies the next block in, say). One job at a time: `finish` it before starting another.
   */
  start(params: number, total: number, fn: TaskFunction = 'run_task'): PoolJob {
    if (total > MAX_POOL_TASKS) throw new RangeError(`WasmThreadPool: ${total} tasks > ${MAX_POOL_TASKS}`);
    const ctl = this.control;
    this.gen = (this.gen + 1) & 0x7fff;
    const job: Job = { gen: this.gen, total, params, fn };
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, CLAIM, this.gen << 16);
    // Publish under the sequence lock (odd while writing), then wake the sleeping workers.
    Atomics.add(ctl, SEQ, 1);
    Atomics.store(ctl, JOB_GEN, job.gen);
    Atomics.store(ctl, JOB_TOTAL, total);
    Atomics.store(ctl, JOB_PARAMS, params);
    Atomics.store(ctl, JOB_FN, TASK_FUNCTIONS.indexOf(fn));
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    return job;
  }

  /** Joins a started job: the caller takes the tasks left, then waits for those workers claimed. */
  finish(job: PoolJob): boolean {
    const ctl = this.control;
    claimTasks(ctl, job, this.runtime.exports[job.fn], false);
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done >= job.total) break;
      Atomics.wait(ctl, DONE, done, 100);
    }
    return Atomics.load(ctl, FAILED) === 0;
  }

  destroy(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
