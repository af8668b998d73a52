import type { Backend, BackendMemory, DataId, TensorInfo } from '../../backend.js';
import { allocate, type DType, type TypedArray, toStorage } from '../../dtype.js';
import { BackendError } from '../../errors/index.js';
import type { Shape } from '../../shape.js';
import { sizeOf } from '../../shape.js';
import { Float32BufferPool } from './buffer-pool.js';

/**
 * The reference backend: plain TypeScript over typed arrays. Every other backend is tested
 * against it, and it runs kernels another backend lacks.
 */
export class CpuBackend implements Backend {
  readonly name: string = 'cpu';
  readonly supportsSyncRead: boolean = true;
  readonly hostMemory: boolean = true;
  private readonly buffers = new Map<DataId, TypedArray>();
  /** Tensors storing each array (a kernel may return an input's array as its output). */
  private readonly references = new Map<TypedArray, number>();
  /** Reuses disposed kernel outputs; see buffer-pool.ts. */
  readonly outputBuffers = new Float32BufferPool();
  private bytes = 0;

  write(values: TypedArray, dtype: DType): DataId {
    const stored = toStorage(values, dtype);
    const id = {};
    this.buffers.set(id, stored);
    this.references.set(stored, (this.references.get(stored) ?? 0) + 1);
    this.bytes += stored.byteLength;
    return id;
  }

  /** An output array whose contents are unspecified: for kernels that write every element. */
  uninitializedFloat32(length: number): Float32Array {
    return this.outputBuffers.take(length);
  }

  /**
   * An output array of `dtype` for a kernel that writes every element: float32 from the buffer
   * pool (its contents are unspecified), other dtypes fresh. On machines where a page costs
   * microseconds on first touch, writing into a fresh 16 MB array costs more than most kernels.
   */
  uninitializedOutput(dtype: DType, length: number): TypedArray {
    return dtype === 'float32' ? this.uninitializedFloat32(length) : allocate(dtype, length);
  }

  values(dataId: DataId): TypedArray {
    const v = this.buffers.get(dataId);
    if (!v) throw new BackendError(this.name, 'read', 'buffer not found (disposed?)');
    return v;
  }

  async read(dataId: DataId): Promise<TypedArray> {
    return this.values(dataId);
  }

  readSync(dataId: DataId): TypedArray {
    return this.values(dataId);
  }

  disposeData(dataId: DataId): void {
    const v = this.buffers.get(dataId);
    if (!v) return;
    this.bytes -= v.byteLength;
    this.buffers.delete(dataId);
    const left = (this.references.get(v) ?? 1) - 1;
    if (left > 0) {
      this.references.set(v, left);
    } else {
      this.references.delete(v);
      this.recycle(v);
    }
  }

  /** Takes back an array no tensor stores any more (the pool keeps those it handed out). */
  protected recycle(values: TypedArray): void {
    this.outputBuffers.release(values);
  }

  memory(): BackendMemory {
    return { buffers: this.buffers.size, bytes: this.bytes };
  }

  /** Wraps freshly computed values as a kernel output. */
  output(values: TypedArray, shape: Shape, dtype: DType): TensorInfo {
    return { dataId: this.write(values, dtype), shape, dtype };
  }

  allocate(shape: Shape, dtype: DType): TypedArray {
    return allocate(dtype, sizeOf(shape));
  }
}
