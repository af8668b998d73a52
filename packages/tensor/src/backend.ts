import type { DType, TypedArray } from './dtype.js';
import type { Shape } from './shape.js';

/** An opaque handle to a buffer owned by a backend. */
export type DataId = object;

/** What a kernel sees of a tensor: its storage and its metadata, no autograd. */
export interface TensorInfo {
  readonly dataId: DataId;
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface BackendMemory {
  /** Buffers the backend holds. */
  buffers: number;
  /** Bytes those buffers take, as the backend stores them. */
  bytes: number;
}

/**
 * Storage of one device. Kernels live in the kernel registry, not here, so a new kernel for an
 * existing backend is one file and one registration.
 */
export interface Backend {
  readonly name: string;
  /** Takes ownership of `values` (stored as `dtype`) and returns a handle to them. */
  write(values: TypedArray, dtype: DType): DataId;
  /** Reads a buffer back as the typed array of `dtype`. */
  read(dataId: DataId, dtype: DType): Promise<TypedArray>;
  /** Synchronous read; a backend that cannot (WebGPU) throws a BackendError naming itself. */
  readSync(dataId: DataId, dtype: DType): TypedArray;
  disposeData(dataId: DataId): void;
  memory(): BackendMemory;
  /** Whether `readSync` works here. */
  readonly supportsSyncRead: boolean;
  /** Buffers live in host memory, so ops may cheaply validate index values before a kernel runs. */
  readonly hostMemory: boolean;
  /**
   * The backend whose kernels run, on this backend's own storage, the ops this one has no kernel
   * for or whose kernel declines a call (returns `null`); only for a backend that stores its
   * buffers as that one does (`wasm`, a cpu subclass: `'cpu'`). Without it such calls run on the
   * cpu backend through a copy (see `KernelConfig`).
   */
  readonly kernelFallback?: string;
  /** Releases every resource (compiled kernels, contexts). */
  destroy?(): void;
}
