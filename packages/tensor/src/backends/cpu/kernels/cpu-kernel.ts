import type { TensorInfo } from '../../../backend.js';
import type { KernelAttrs, KernelName } from '../../../kernel-names.js';
import type { KernelArgs, KernelConfig } from '../../../kernel-registry.js';

/**
 * A reference-backend kernel whose `attrs` are typed from `KernelAttrs[N]` (as `gpujsKernel<N>()`
 * does for gpu.js), so a kernel reads its attributes without an `attrs as { … }` cast that could
 * drift from the op that sends them. The one cast left is here: a registry holds kernels of every
 * op, so it stores `KernelConfig<KernelName>`.
 *
 * ```ts
 * cpuKernel('Concat', ({ inputs, attrs: { axis }, backend }) => …); // axis: number
 * ```
 */
export function cpuKernel<N extends KernelName>(
  kernelName: N,
  kernelFunc: (args: KernelArgs<KernelAttrs[N]>) => TensorInfo,
): KernelConfig {
  return { kernelName, backendName: 'cpu', kernelFunc } as unknown as KernelConfig;
}
