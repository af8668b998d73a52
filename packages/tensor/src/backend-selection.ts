import type { Backend } from './backend.js';
import { ENGINE } from './engine.js';
import { randn } from './ops/index.js';
import type { Tensor } from './tensor.js';

/** Side of the square matmul timed per candidate: big enough to be compute-bound, ~1 ms on wasm. */
export const SELECTION_MATMUL_SIZE = 256;
const TIMED_RUNS = 3;

/** One candidate's outcome: its best matmul time, or why it was passed over. */
export interface BackendTiming {
  name: string;
  ms?: number;
  skipped?: string;
}

let choice: { name: string; timings: BackendTiming[] } | null = null;

/** The fastest measured candidate; ties go to the earlier one (the built-in `wasm` registers first). */
export function fastestBackend(timings: readonly BackendTiming[]): string | null {
  let best: BackendTiming | null = null;
  for (const t of timings) if (t.ms !== undefined && (best === null || t.ms < best.ms!)) best = t;
  return best?.name ?? null;
}

/** `wasm 1.2 ms, gpujs 14.0 ms, gpujs-webgpu skipped (software GL)`. */
function describe(timings: readonly BackendTiming[]): string {
  return timings
    .map((t) => (t.ms !== undefined ? `${t.name} ${t.ms.toFixed(1)} ms` : `${t.name} skipped (${t.skipped})`))
    .join(', ');
}

/** A candidate ready to time (its inputs made on it), or why it is passed over. */
function prepare(name: string, sync: boolean): { a: Tensor; b: Tensor; backend: Backend } | string {
  let backend: Backend;
  try {
    backend = ENGINE.findBackend(name);
  } catch (e) {
    return `unavailable: ${(e as Error).message}`;
  }
  if (sync && !backend.supportsSyncRead) return 'asynchronous: measured by await ready()';
  ENGINE.setBackend(name);
  // Seeded draws: the timing never moves the default generator's stream.
  const size = [SELECTION_MATMUL_SIZE, SELECTION_MATMUL_SIZE];
  return { a: randn(size, { seed: 1 }), b: randn(size, { seed: 2 }), backend };
}

function matmulMsSync(a: Tensor, b: Tensor): number {
  const start = performance.now();
  const c = a.matmul(b);
  c.dataSync();
  c.dispose();
  return performance.now() - start;
}

async function matmulMs(a: Tensor, b: Tensor): Promise<number> {
  const start = performance.now();
  const c = a.matmul(b);
  await c.data();
  c.dispose();
  return performance.now() - start;
}

/**
 * Times every candidate: a warm-up matmul (kernel compilation, worker start-up), then the best of
 * three. The software check runs after the warm-up, when a GL context exists. `sync` skips the
 * backends that cannot read synchronously (the first-use path cannot wait).
 */
function measureSync(): BackendTiming[] {
  return ENGINE.selectionCandidates().map(({ name, options }) => {
    const p = prepare(name, true);
    if (typeof p === 'string') return { name, skipped: p };
    try {
      matmulMsSync(p.a, p.b);
      if (options.isSoftware?.(p.backend)) return { name, skipped: 'software GPU emulation' };
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < TIMED_RUNS; i++) best = Math.min(best, matmulMsSync(p.a, p.b));
      return { name, ms: best };
    } catch (e) {
      return { name, skipped: `failed: ${(e as Error).message}` };
    } finally {
      p.a.dispose();
      p.b.dispose();
    }
  });
}

/** `measureSync`, awaiting read-backs, so asynchronous backends (WebGPU) take part. */
async function measureAsync(): Promise<BackendTiming[]> {
  const timings: BackendTiming[] = [];
  for (const { name, options } of ENGINE.selectionCandidates()) {
    const p = prepare(name, false);
    if (typeof p === 'string') {
      timings.push({ name, skipped: p });
      continue;
    }
    try {
      await matmulMs(p.a, p.b);
      if (options.isSoftware?.(p.backend)) {
        timings.push({ name, skipped: 'software GPU emulation' });
        continue;
      }
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < TIMED_RUNS; i++) best = Math.min(best, await matmulMs(p.a, p.b));
      timings.push({ name, ms: best });
    } catch (e) {
      timings.push({ name, skipped: `failed: ${(e as Error).message}` });
    } finally {
      p.a.dispose();
      p.b.dispose();
    }
  }
  return timings;
}

/** Records the choice and logs it once (only when there was a choice: more than one candidate). */
function settle(timings: BackendTiming[]): string {
  const name = fastestBackend(timings) ?? 'cpu';
  choice = { name, timings };
  if (timings.length > 1)
    ENGINE.info(
      `[polymodal] backend ${name} (matmul ${SELECTION_MATMUL_SIZE}²: ${describe(timings)}); setBackend() overrides`,
    );
  return name;
}

/**
 * The default backend, chosen on first use: with one candidate (`wasm` alone, as in Node without
 * GPU packages) it is that one, unmeasured; with more, each one that reads synchronously runs a
 * small matmul and the fastest wins. Software GPU emulation never wins. Installed by register.ts.
 */
export function selectBackendSync(): string {
  if (choice) return choice.name;
  const candidates = ENGINE.selectionCandidates();
  if (candidates.length <= 1) return settle(candidates.map((c) => ({ name: c.name, ms: 0 })));
  return settle(measureSync());
}

/** The last automatic choice and the timings behind it (null before one was made). */
export function backendChoice(): { name: string; timings: readonly BackendTiming[] } | null {
  return choice;
}

/**
 * Picks the default backend by measurement, including asynchronous ones (WebGPU), and makes it
 * current; returns its name. After `setBackend`, or once a backend is in use, it measures nothing
 * and returns the current one.
 *
 * ```ts
 * import '@polymodal/backend-gpujs';
 * await ready(); // '[polymodal] backend gpujs (matmul 256²: wasm 1.3 ms, gpujs 0.4 ms); …'
 * ```
 */
export async function ready(): Promise<string> {
  if (ENGINE.hasBackend) return ENGINE.backend.name;
  const candidates = ENGINE.selectionCandidates();
  const name = choice?.name ?? (candidates.length <= 1 ? selectBackendSync() : settle(await measureAsync()));
  ENGINE.setBackend(name);
  return name;
}
