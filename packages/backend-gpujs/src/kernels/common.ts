import type { KernelAttrs, KernelConfig, KernelName, TensorInfo } from '@polymodal/tensor';
import type { GpujsBackend } from '../gpujs-backend.js';

export type GpujsKernelFunc<N extends KernelName> = (
  backend: GpujsBackend,
  inputs: readonly TensorInfo[],
  attrs: KernelAttrs[N],
) => TensorInfo | null;

/**
 * A gpu.js kernel config. A kernel function returns null for shapes it does not take (more
 * merged dims than it indexes): it declines the call, and the engine runs it on the cpu backend
 * through a copy, noted once (the fallback chain is on `KernelConfig` in @polymodal/tensor).
 */
export function gpujsKernel<N extends KernelName>(kernelName: N, fn: GpujsKernelFunc<N>) {
  return (backendName: string): KernelConfig =>
    ({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, attrs, backend }) =>
        fn(backend as GpujsBackend, inputs, attrs as KernelAttrs[N]),
    }) as KernelConfig;
}

export type KernelFactory = (backendName: string) => KernelConfig;
