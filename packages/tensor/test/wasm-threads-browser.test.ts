import { describe, expect, it } from 'vitest';
import { firstBitDifference } from './bit-compare.js';
import { reference } from './matmul-reference.js';

const IN_BROWSER = typeof window !== 'undefined';

/**
 * The wasm backend's worker pool in a browser: vitest.browser.config.ts serves the suite with
 * COOP/COEP headers, so the page is cross-origin isolated; a module Worker (the only browser thread
 * allowed to block in Atomics.wait) runs the backend on 3 threads and on 1, and the results must
 * agree bit for bit, with Blob workers having taken GEMM tasks.
 */
describe.runIf(IN_BROWSER)('wasm thread pool in a cross-origin-isolated browser worker', () => {
  it('runs GEMM and softmax on Blob workers with the same bits as one thread', async () => {
    expect(globalThis.crossOriginIsolated).toBe(true);
    const worker = new Worker(new URL('./browser/wasm-threads-worker.ts', import.meta.url), {
      type: 'module',
    });
    const r = await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      worker.postMessage('go');
    }).finally(() => worker.terminate());
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ crossOriginIsolated: true, threadsSupported: true, shared: true, threads: 3 });
    expect(r.gemmTasksOnWorkers as number).toBeGreaterThan(0);
    const [expected, got] = [r.expected as Float32Array, r.got as Float32Array];
    expect(firstBitDifference(got, expected)).toBe(-1);
    expect(firstBitDifference(r.softmaxMany as Float32Array, r.softmaxOne as Float32Array)).toBe(-1);
    // And correct, against the float64 reference (B transposed: [2, n, k]).
    const ref = reference(
      r.a as Float32Array,
      [1, 131, 257],
      r.b as Float32Array,
      [2, 131, 257],
      false,
      true,
    );
    for (let i = 0; i < ref.values.length; i += 89)
      expect(Math.abs(got[i]! - ref.values[i]!)).toBeLessThanOrEqual(ref.bound[i]!);
  }, 60_000);
});
