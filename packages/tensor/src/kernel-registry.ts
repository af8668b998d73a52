import type { Backend, TensorInfo } from './backend.js';
import { BackendError } from './errors/index.js';
import type { KernelAttrs, KernelName } from './kernel-names.js';

export interface KernelArgs<A> {
  inputs: readonly TensorInfo[];
  attrs: A;
  backend: Backend;
}

/** One kernel on one backend: a plain object, registered once (after TF.js `KernelConfig`). */
export interface KernelConfig<N extends KernelName = KernelName> {
  kernelName: N;
  backendName: string;
  kernelFunc: (args: KernelArgs<KernelAttrs[N]>) => TensorInfo;
}

const registry = new Map<string, KernelConfig>();
const key = (kernelName: string, backendName: string) => `${backendName}/${kernelName}`;

export function registerKernel<N extends KernelName>(config: KernelConfig<N>): void {
  registry.set(key(config.kernelName, config.backendName), config as unknown as KernelConfig);
}

export function registerKernels(configs: readonly KernelConfig[]): void {
  for (const c of configs) registerKernel(c);
}

export function getKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return registry.get(key(kernelName, backendName));
}

export function requireKernel(kernelName: string, backendName: string): KernelConfig {
  const k = getKernel(kernelName, backendName);
  if (!k)
    throw new BackendError(
      backendName,
      kernelName,
      `no kernel '${kernelName}' is registered for this backend`,
    );
  return k;
}

export function listKernels(backendName: string): string[] {
  return [...registry.values()].filter((c) => c.backendName === backendName).map((c) => c.kernelName);
}
