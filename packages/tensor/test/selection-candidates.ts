import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { CPU_KERNELS } from '../src/backends/cpu/kernels/index.js';
import * as T from '../src/index.js';

/**
 * Registers a cpu-kernel backend under `name` with `autoSelect`: its matmul slowed by
 * `matmulDelayMs`, or answering at once with zeros (`instantMatmul`, faster than any real kernel);
 * reading synchronously unless `sync: false`.
 */
export function registerCandidate(
  name: string,
  options: T.BackendOptions & { sync?: boolean; matmulDelayMs?: number; instantMatmul?: boolean } = {},
): void {
  T.registerKernels(
    CPU_KERNELS.map((k) => {
      if (k.kernelName !== 'BatchMatMul') return { ...k, backendName: name };
      if (options.instantMatmul)
        return {
          ...k,
          backendName: name,
          kernelFunc: ({ inputs, backend }: Parameters<typeof k.kernelFunc>[0]) => {
            const [a, b] = inputs as [T.TensorInfo, T.TensorInfo];
            const shape = [...a.shape.slice(0, -1), b.shape[b.shape.length - 1]!];
            return {
              dataId: backend.write(new Float32Array(T.sizeOf(shape)), 'float32'),
              shape,
              dtype: 'float32' as const,
            };
          },
        };
      if (!options.matmulDelayMs) return { ...k, backendName: name };
      const delay = options.matmulDelayMs;
      return {
        ...k,
        backendName: name,
        kernelFunc: (args: Parameters<typeof k.kernelFunc>[0]) => {
          const until = performance.now() + delay;
          while (performance.now() < until) {
            /* a slow device */
          }
          return k.kernelFunc(args);
        },
      };
    }),
  );
  const sync = options.sync ?? true;
  T.registerBackend(
    name,
    () =>
      new (class extends CpuBackend {
        override readonly name = name;
        override readonly supportsSyncRead = sync;
      })(),
    { autoSelect: true, ...(options.isSoftware ? { isSoftware: options.isSoftware } : {}) },
  );
}
