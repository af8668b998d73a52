import { ENGINE } from './engine.js';
import { ArgumentError } from './errors/index.js';
import { formatShape } from './shape.js';

/** One kernel (with its input shapes) and the time spent in it while `profile` ran. */
export interface KernelTiming {
  kernel: string;
  /** Input shapes, as `[2,3] [3]`. */
  shapes: string;
  calls: number;
  totalMs: number;
}

export interface KernelProfile<T> {
  result: T;
  /** Wall time of `fn`. */
  wallMs: number;
  /** Time inside kernels (synchronous backends: where the work is; the rest is op and autograd bookkeeping). */
  kernelMs: number;
  /** Per kernel and input shapes, slowest first. */
  kernels: KernelTiming[];
}

/**
 * Runs `fn` and times every kernel it dispatches, grouped by kernel name and input shapes, like
 * `tf.profile` or `torch.profiler`. Times are wall-clock around each kernel call: exact on the
 * synchronous backends (cpu, wasm); on GPU backends a kernel may return before its work is done.
 *
 * ```ts
 * const p = profile(() => scope(() => model.forward(x).mean().backward()));
 * console.table(p.kernels.slice(0, 10));
 * ```
 */
export function profile<T>(fn: () => T): KernelProfile<T> {
  if (ENGINE.kernelObserver) throw new ArgumentError('profile', 'profiles cannot be nested');
  const byKey = new Map<string, KernelTiming>();
  let kernelMs = 0;
  ENGINE.kernelObserver = (kernel, inputs, ms) => {
    const shapes = inputs.map((t) => formatShape(t.shape)).join(' ');
    const key = `${kernel} ${shapes}`;
    let timing = byKey.get(key);
    if (!timing) byKey.set(key, (timing = { kernel, shapes, calls: 0, totalMs: 0 }));
    timing.calls++;
    timing.totalMs += ms;
    kernelMs += ms;
  };
  const start = performance.now();
  try {
    const result = fn();
    const wallMs = performance.now() - start;
    const kernels = [...byKey.values()].sort((a, b) => b.totalMs - a.totalMs);
    return { result, wallMs, kernelMs, kernels };
  } finally {
    ENGINE.kernelObserver = null;
  }
}
