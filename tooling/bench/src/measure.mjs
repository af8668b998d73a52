/**
 * Timing helpers: a warm-up call, then repeated calls until a time budget is spent (at least
 * `minReps`), reporting the median. Machines here are shared and noisy: compare ratios measured in
 * one run, not absolute times across runs.
 */
export function measure(fn, { minReps = 3, maxReps = 15, budgetMs = 3000 } = {}) {
  fn();
  const times = [];
  const start = performance.now();
  while (times.length < maxReps && (times.length < minReps || performance.now() - start < budgetMs)) {
    globalThis.gc?.();
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], reps: times.length, minMs: times[0] };
}

export async function measureAsync(fn, opts = {}) {
  const { minReps = 3, maxReps = 15, budgetMs = 3000 } = opts;
  await fn();
  const times = [];
  const start = performance.now();
  while (times.length < maxReps && (times.length < minReps || performance.now() - start < budgetMs)) {
    globalThis.gc?.();
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], reps: times.length, minMs: times[0] };
}
