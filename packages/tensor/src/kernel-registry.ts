import type { Backend, TensorInfo } from './backend.js';
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

export interface RegisterKernelOptions {
  /**
   * Replace a kernel already registered for the same op and backend on purpose, without the
   * warning. Default false.
   */
  override?: boolean;
}

const warned = new Set<string>();

/**
 * Registers `config` as the kernel for its op on its backend. A second, different kernel for the
 * same op and backend replaces the first (the last registration wins, as in TF.js) and warns once
 * per op and backend through `console.warn`, unless `{ override: true }` says it is meant;
 * registering the very same kernel function again changes nothing and says nothing.
 *
 * ```ts
 * registerKernel({ kernelName: 'Relu', backendName: 'cpu', kernelFunc: myRelu }, { override: true });
 * ```
 */
export function registerKernel<N extends KernelName>(
  config: KernelConfig<N>,
  options: RegisterKernelOptions = {},
): void {
  const k = key(config.kernelName, config.backendName);
  const existing = registry.get(k);
  // A silent overwrite is how a backend ends up running a kernel nobody meant it to (two copies of
  // a backend package, or a custom kernel clobbered by a lazily registered built-in table).
  if (existing && existing.kernelFunc !== config.kernelFunc && !options.override && !warned.has(k)) {
    warned.add(k);
    console.warn(
      `registerKernel: a kernel for '${config.kernelName}' on backend '${config.backendName}' was already registered; the new one replaces it (pass { override: true } if that is meant)`,
    );
  }
  registry.set(k, config as unknown as KernelConfig);
}

/** `registerKernel` for each config, with the same options. */
export function registerKernels(configs: readonly KernelConfig[], options: RegisterKernelOptions = {}): void {
  for (const c of configs) registerKernel(c, options);
}

export function getKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return registry.get(key(kernelName, backendName));
}

export function listKernels(backendName: string): string[] {
  return [...registry.values()].filter((c) => c.backendName === backendName).map((c) => c.kernelName);
}
