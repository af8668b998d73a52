import type { DataId } from '../backend.js';
import { CpuBackend } from '../backends/cpu/cpu-backend.js';
import { CPU_KERNELS } from '../backends/cpu/kernels/index.js';
import type { DType, TypedArray } from '../dtype.js';
import { ENGINE } from '../engine.js';
import { BackendError } from '../errors/index.js';
import { registerKernels } from '../kernel-registry.js';

/** The backend `registerNoSyncBackend` registers, with its read counter. */
export interface NoSyncBackend {
  readonly name: string;
  /** Asynchronous reads (`tensor.data()`, `array()`) since it was created or `resetReads()`. */
  readonly reads: number;
  resetReads(): void;
}

/**
 * Registers, for tests, a backend that reads back like a GPU: the cpu kernels on the cpu storage,
 * but `hostMemory` is false (ops skip their host-side value checks, as on a device) and a
 * synchronous read (`dataSync()`, `item()`, `arraySync()`) throws a `BackendError`, as WebGPU's
 * does. Asynchronous reads work and are counted, so a test can hold code to "no device sync per
 * step" without a GPU.
 *
 * ```ts
 * const device = registerNoSyncBackend('no-sync');
 * setBackend('no-sync');
 * await trainer.train(); // throws if anything called dataSync()
 * device.reads;          // how many async reads it made
 * ```
 */
export function registerNoSyncBackend(name = 'no-sync'): NoSyncBackend {
  let instance: NoSyncCpuBackend | null = null;
  registerKernels(CPU_KERNELS.map((k) => ({ ...k, backendName: name })));
  ENGINE.registerBackend(name, () => {
    instance = new NoSyncCpuBackend(name);
    return instance;
  });
  return {
    name,
    get reads() {
      return instance?.reads ?? 0;
    },
    resetReads() {
      if (instance) instance.reads = 0;
    },
  };
}

class NoSyncCpuBackend extends CpuBackend {
  override readonly supportsSyncRead = false;
  override readonly hostMemory = false;
  reads = 0;

  constructor(override readonly name: string) {
    super();
  }

  override async read(dataId: DataId): Promise<TypedArray> {
    this.reads++;
    return this.values(dataId);
  }

  override readSync(_dataId: DataId, _dtype?: DType): TypedArray {
    throw new BackendError(this.name, 'readSync', 'this backend cannot read synchronously (like WebGPU)');
  }
}
