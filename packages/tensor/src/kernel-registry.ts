import type { Backend, TensorInfo } from './backend.js';
import type { KernelAttrs, KernelName } from './kernel-names.js';

export interface KernelArgs<A> {
  inputs: readonly TensorInfo[];
  attrs: A;
  backend: Backend;
}

/**
 * One kernel on one backend: a plain object, registered once (after TF.js `KernelConfig`).
 *
 * **A kernel may decline a call by returning `null`** (a dtype, rank or size it does not take: the
 * wasm kernels decline int32 inputs and problems beyond wasm memory, the gpu.js ones shapes with
 * more merged dims than they index). The engine then runs the next kernel of one fallback chain
 * (`engine.ts`, `dispatch`); a kernel never calls another backend's kernel itself:
 *
 * 1. the current backend's kernel for the op;
 * 2. if it declines or none is registered, and the backend names a `kernelFallback` (a backend
 *    whose kernels read its storage as it is), that backend's kernel, on the same storage, silently:
 *    `wasm` → `cpu`;
 * 3. otherwise the `cpu` backend's kernel, with inputs and output copied through the host, noted
 *    once per backend and op through `console.warn`: `gpujs` → `cpu`;
 * 4. nothing left: a `BackendError` naming the backend and the op.
 *
 * The cpu kernels never decline: they end every chain.
 *
 * ```ts
 * registerKernel({
 *   kernelName: 'Relu',
 *   backendName: 'my-backend',
 *   kernelFunc: ({ inputs: [x] }) => (x!.shape.length <= 4 ? myRelu(x!) : null), // rank 5+: cpu runs it
 * });
 * ```
 */
export interface KernelConfig<N extends KernelName = KernelName> {
  kernelName: N;
  backendName: string;
  /** The op's output on `args.backend`, or `null` to decline the call (see above). */
  kernelFunc: (args: KernelArgs<KernelAttrs[N]>) => TensorInfo | null;
}

/** Backend name → kernel name → kernel: two lookups and no string built per dispatch. */
const registry = new Map<string, Map<string, KernelConfig>>();

export interface RegisterKernelOptions {
  /**
   * Replace a kernel already registered for the same op and backend on purpose, without the
   * warning. Default false.
   */
  override?: boolean;
}

const warned = new Set<string>();

/**
 * Registers `config` as the kernel for its op on its backend; its `kernelFunc` may decline a call
 * by returning `null` (the fallback chain is on `KernelConfig`). A second, different kernel for the
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
  let kernels = registry.get(config.backendName);
  if (!kernels) registry.set(config.backendName, (kernels = new Map()));
  const existing = kernels.get(config.kernelName);
  const k = `${config.backendName}/${config.kernelName}`;
  // A silent overwrite is how a backend ends up running a kernel nobody meant it to (two copies of
  // a backend package, or a custom kernel clobbered by a lazily registered built-in table).
  if (existing && existing.kernelFunc !== config.kernelFunc && !options.override && !warned.has(k)) {
    warned.add(k);
    console.warn(
      `registerKernel: a kernel for '${config.kernelName}' on backend '${config.backendName}' was already registered; the new one replaces it (pass { override: true } if that is meant)`,
    );
  }
  kernels.set(config.kernelName, config as unknown as KernelConfig);
}

/** `registerKernel` for each config, with the same options. */
export function registerKernels(configs: readonly KernelConfig[], options: RegisterKernelOptions = {}): void {
  for (const c of configs) registerKernel(c, options);
}

export function getKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return registry.get(backendName)?.get(kernelName);
}

export function listKernels(backendName: string): string[] {
  return [...(registry.get(backendName)?.keys() ?? [])];
}
