/**
 * The kernel decline contract (`KernelConfig`): a kernel returns null to decline a call, and the
 * engine runs the next kernel of the chain: the backend's `kernelFallback` on the same storage,
 * else the cpu kernel through a host copy (noted once), else a BackendError. Expected values come
 * from the cpu backend's own kernels.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import * as T from '../src/index.js';

afterEach(() => T.setBackend('cpu'));

/** A backend on cpu storage whose only kernel is a Relu that takes up to 2 elements and declines more. */
function registerDecliningBackend(name: string, kernelFallback?: string): { calls: number } {
  const counter = { calls: 0 };
  T.registerKernel({
    kernelName: 'Relu',
    backendName: name,
    kernelFunc: ({ inputs: [x], backend }) => {
      counter.calls++;
      if (x!.shape.reduce((n, d) => n * d, 1) > 2) return null;
      const values = (backend as CpuBackend).values(x!.dataId) as Float32Array;
      return (backend as CpuBackend).output(
        values.map((v) => Math.max(v, 0)),
        x!.shape,
        'float32',
      );
    },
  });
  T.registerBackend(
    name,
    () =>
      new (class extends CpuBackend {
        override readonly name = name;
        readonly kernelFallback = kernelFallback;
      })(),
  );
  return counter;
}

/** Collects the engine's one-time notes while `fn` runs. */
function notes(fn: () => void): string[] {
  const seen: string[] = [];
  const previous = T.ENGINE.warn;
  T.ENGINE.warn = (m) => seen.push(m);
  try {
    fn();
  } finally {
    T.ENGINE.warn = previous;
  }
  return seen;
}

const LONG = [-3, 0, 4, -1];
const RELU_LONG = [0, 0, 4, 0];

describe('kernel decline contract', () => {
  it("a declined call runs the kernelFallback backend's kernel on the same storage, silently", () => {
    const counter = registerDecliningBackend('fallback-test-shared', 'cpu');
    T.setBackend('fallback-test-shared');
    const said = notes(() => {
      const f = T.relu(T.tensor([-1, 2]));
      expect(Array.from(f.dataSync())).toEqual([0, 2]);
      expect(counter.calls).toBe(1); // its own kernel ran
      const long = T.relu(T.tensor(LONG));
      expect(counter.calls).toBe(2); // asked first, declined
      expect(Array.from(long.dataSync())).toEqual(RELU_LONG);
      expect(long.backend.name).toBe('fallback-test-shared');
    });
    expect(said).toEqual([]);
  });

  it('with no kernelFallback, a declined or missing kernel runs on cpu through a copy, noted once per op', () => {
    const counter = registerDecliningBackend('fallback-test-copy');
    T.setBackend('fallback-test-copy');
    const said = notes(() => {
      for (let i = 0; i < 2; i++) {
        const y = T.relu(T.tensor(LONG));
        expect(Array.from(y.dataSync())).toEqual(RELU_LONG);
        expect(y.backend.name).toBe('fallback-test-copy'); // copied back
      }
      expect(counter.calls).toBe(2);
      // No Neg kernel at all on this backend: the same route.
      expect(Array.from(T.neg(T.tensor([1, -2])).dataSync())).toEqual([-1, 2]);
    });
    expect(said).toEqual([
      "polymodal: backend 'fallback-test-copy' cannot run 'Relu' here; running it on the cpu backend",
      "polymodal: backend 'fallback-test-copy' cannot run 'Neg' here; running it on the cpu backend",
    ]);
  });

  it('when every kernel of the chain declines, a BackendError names the backend, the op and the inputs', () => {
    const cpuRelu = T.getKernel('Relu', 'cpu')!;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    T.registerKernel({ ...cpuRelu, kernelFunc: () => null }, { override: true });
    try {
      T.setBackend('cpu');
      expect(() => T.relu(T.tensor([[1, 2]]))).toThrow(T.BackendError);
      expect(() => T.relu(T.tensor([[1, 2]]))).toThrow(
        /Relu.*every kernel for 'Relu' declined this call \(float32 \[1,2\]\)/,
      );
    } finally {
      T.registerKernel(cpuRelu, { override: true });
      warn.mockRestore();
    }
    expect(Array.from(T.relu(T.tensor([-1, 1])).dataSync())).toEqual([0, 1]);
  });

  it('the wasm kernels decline what their SIMD code does not take (they do not call the JS kernel)', () => {
    T.setBackend('wasm-1t');
    const a = T.tensor([1, 2, 3], { dtype: 'int32' });
    const b = T.tensor([10, 20, 30], { dtype: 'int32' });
    const add = T.getKernel('Add', 'wasm-1t')!;
    expect(add.kernelFunc({ inputs: [a, b], attrs: {} as never, backend: a.backend })).toBeNull();
    const said = notes(() => {
      const sum = T.add(a, b);
      expect(sum.dtype).toBe('int32');
      expect(Array.from(sum.dataSync())).toEqual([11, 22, 33]);
      expect(sum.backend.name).toBe('wasm-1t');
    });
    expect(said).toEqual([]);
  });
});
