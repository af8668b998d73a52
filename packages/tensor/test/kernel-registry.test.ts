import { afterEach, describe, expect, it, vi } from 'vitest';
import { cpuKernel } from '../src/backends/cpu/kernels/cpu-kernel.js';
import * as T from '../src/index.js';

const kernel = (
  backendName: string,
  kernelFunc: T.KernelConfig<'Relu'>['kernelFunc'],
): T.KernelConfig<'Relu'> => ({
  kernelName: 'Relu',
  backendName,
  kernelFunc,
});
// Never called: the registry only stores and compares them.
const first: T.KernelConfig<'Relu'>['kernelFunc'] = ({ inputs }) => inputs[0]!;
const second: T.KernelConfig<'Relu'>['kernelFunc'] = ({ inputs }) => inputs[0]!;

afterEach(() => vi.restoreAllMocks());

describe('registerKernel', () => {
  it('warns once per op and backend when a different kernel replaces one; the last one wins', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    T.registerKernel(kernel('registry-test-a', first));
    expect(warn).not.toHaveBeenCalled();
    T.registerKernel(kernel('registry-test-a', second));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(
      /registerKernel: a kernel for 'Relu' on backend 'registry-test-a' was already registered; the new one replaces it \(pass \{ override: true \}/,
    );
    expect(T.getKernel('Relu', 'registry-test-a')!.kernelFunc).toBe(second);
    T.registerKernel(kernel('registry-test-a', first)); // once per op and backend, not per call
    expect(warn).toHaveBeenCalledTimes(1);
    expect(T.getKernel('Relu', 'registry-test-a')!.kernelFunc).toBe(first);
  });

  it('is silent for { override: true } and for the very same kernel registered again', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    T.registerKernel(kernel('registry-test-b', first));
    T.registerKernel(kernel('registry-test-b', first)); // same function: nothing changes
    T.registerKernel(kernel('registry-test-b', second), { override: true });
    expect(T.getKernel('Relu', 'registry-test-b')!.kernelFunc).toBe(second);
    T.registerKernels([kernel('registry-test-b', first) as unknown as T.KernelConfig], { override: true });
    expect(T.getKernel('Relu', 'registry-test-b')!.kernelFunc).toBe(first);
    expect(warn).not.toHaveBeenCalled();
    // registerKernels passes no option by default: it warns like registerKernel.
    T.registerKernels([kernel('registry-test-b', second) as unknown as T.KernelConfig]);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('the built-in backends register without warnings', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    T.setBackend('cpu');
    T.setBackend('wasm-1t');
    T.relu(T.tensor([-1, 2])).dispose();
    T.setBackend('cpu');
    expect(warn.mock.calls.filter(([m]) => String(m).startsWith('registerKernel'))).toEqual([]);
    expect(T.listKernels('wasm-1t')).toContain('Relu');
  });
});

describe('cpuKernel', () => {
  it('types attrs from KernelAttrs and registers on the cpu backend name', () => {
    const config = cpuKernel('Concat', ({ inputs, attrs }) => {
      const axis: number = attrs.axis;
      // @ts-expect-error Concat has no `perm`: a typo in an attribute name no longer compiles.
      void attrs.perm;
      return axis >= 0 ? inputs[0]! : inputs[1]!;
    });
    expect([config.kernelName, config.backendName]).toEqual(['Concat', 'cpu']);
  });
});
