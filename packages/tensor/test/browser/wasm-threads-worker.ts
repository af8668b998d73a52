// Runs inside a module Worker of a cross-origin-isolated page (see wasm-threads.browser.test.ts):
// the one place in a browser where the wasm backend may block in Atomics.wait and start a pool.

import { threadsSupported } from '../../src/backends/wasm/thread-pool.js';
import { WasmBackend } from '../../src/backends/wasm/wasm-backend.js';
import { Generator } from '../../src/random.js';

self.onmessage = async () => {
  const one = new WasmBackend('wasm-worker-1', 1);
  const many = new WasmBackend('wasm-worker-3', 3);
  try {
    const problem = {
      batchA: 1,
      batchB: 2,
      batch: 2,
      m: 131,
      k: 257,
      n: 131,
      transposeA: false,
      transposeB: true,
    };
    const g = new Generator(11);
    const a = Float32Array.from({ length: problem.m * problem.k }, () => g.normal());
    const b = Float32Array.from({ length: 2 * problem.k * problem.n }, () => g.normal());
    const rows = Float32Array.from({ length: 256 * 1024 }, () => 4 * g.normal());
    await many.warmUp();
    const expected = one.matmul(a, b, problem)!;
    let got = many.matmul(a, b, problem)!;
    for (let rep = 0; rep < 20 && many.tasksOnWorkers === 0; rep++) got = many.matmul(a, b, problem)!;
    const gemmTasksOnWorkers = many.tasksOnWorkers;
    const softmaxOne = one.rows('softmax', rows, 1024)!;
    const softmaxMany = many.rows('softmax', rows, 1024)!;
    self.postMessage({
      crossOriginIsolated: self.crossOriginIsolated,
      threadsSupported: threadsSupported(),
      shared: many.runtime.shared,
      threads: many.threads,
      gemmTasksOnWorkers,
      a,
      b,
      expected,
      got,
      softmaxOne,
      softmaxMany,
    });
  } catch (error) {
    self.postMessage({ error: String((error as Error)?.stack ?? error) });
  } finally {
    one.destroy();
    many.destroy();
  }
};
