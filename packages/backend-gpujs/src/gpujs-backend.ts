import type { Backend, BackendMemory, DataId, DType, TensorInfo, TypedArray } from '@polymodal/tensor';
import { BackendError, type Shape, sizeOf } from '@polymodal/tensor';
import { GPU, type IKernelRunShortcut, type Texture } from 'gpu.js';
import { isSoftwareGl } from './software-gl.js';

/** The gpu.js modes this backend can run in. */
export type GpujsMode = 'webgpu' | 'webgl2' | 'webgl' | 'headlessgl' | 'webasm' | 'cpu';

/** Modes whose kernel outputs stay on a device (textures / buffers) until read back. */
const DEVICE_MODES: readonly GpujsMode[] = ['webgl2', 'webgl', 'headlessgl', 'webgpu'];

type Resolved = Float32Array | Texture;
/** WebGPU kernels answer with promises: its buffers are promises of device handles. */
type Stored = Resolved | Promise<Resolved>;
type KernelArg = number | Stored;

interface Buffer {
  value: Stored;
  length: number;
  /** Kernel calls queued with this buffer as an argument; deletion waits for them. */
  uses: Promise<unknown>[];
}

/**
 * A backend whose kernels are written once for gpu.js and run in whatever mode the environment
 * offers: GLSL on a GPU (WebGL2, headless-gl), WGSL (WebGPU), WebAssembly with SIMD, or plain JS.
 *
 * gpu.js computes in float32 only: int32 and bool tensors are stored as exact small floats and
 * converted on read. Kernels are compiled once per kernel name (dynamic output and argument
 * sizes), outputs stay on the device in pipeline mode, and every buffer is freed on dispose.
 */
export class GpujsBackend implements Backend {
  readonly name: string;
  readonly supportsSyncRead: boolean;
  readonly hostMemory: boolean;
  readonly gpu: GPU;
  private readonly kernels = new Map<string, IKernelRunShortcut>();
  private readonly buffers = new Map<DataId, Buffer>();
  /** Buffers handed to the kernel call being prepared (WebGPU: they must outlive that call). */
  private argumentsInFlight: Buffer[] = [];
  /** The last queued WebGPU call: the next one starts after it. */
  private queue: Promise<unknown> = Promise.resolve();
  private bytes = 0;
  /** Kernel calls return promises (WebGPU): results are chained, never awaited by ops. */
  private readonly asynchronous: boolean;

  constructor(
    readonly mode: GpujsMode,
    name = `gpujs-${mode}`,
  ) {
    this.name = name;
    this.gpu = new GPU({ mode });
    this.supportsSyncRead = mode !== 'webgpu';
    this.asynchronous = mode === 'webgpu';
    this.hostMemory = !DEVICE_MODES.includes(mode);
  }

  get onDevice(): boolean {
    return DEVICE_MODES.includes(this.mode);
  }

  /**
   * The GL renderer gpu.js's context reports (`ANGLE (Google, Vulkan … (SwiftShader …))`, `llvmpipe
   * (LLVM …)`), or null before a kernel has made a context or outside the GL modes.
   */
  renderer(): string | null {
    const gl = (this.gpu as unknown as { context?: WebGLRenderingContext | null }).context;
    if (!gl || typeof gl.getParameter !== 'function') return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
    return typeof name === 'string' ? name : null;
  }

  /** Whether this GL is a software rasteriser (`isSoftwareGl` of its renderer and mode). */
  isSoftwareRenderer(): boolean {
    return isSoftwareGl(this.renderer(), this.mode);
  }

  // ---- storage ---------------------------------------------------------------------------------

  write(values: TypedArray, _dtype: DType): DataId {
    const floats = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.store(this.onDevice && floats.length > 0 ? this.upload(floats) : floats, floats.length);
  }

  private store(value: Stored, length: number): DataId {
    // A failed device call surfaces when its result is read, not as an unhandled rejection.
    if (value instanceof Promise) value.catch(() => undefined);
    const id = {};
    this.buffers.set(id, { value, length, uses: [] });
    this.bytes += length * 4;
    return id;
  }

  /** The stored value of a tensor, as a kernel argument. */
  arg(dataId: DataId): Stored {
    const b = this.buffers.get(dataId);
    if (!b) throw new BackendError(this.name, 'read', 'buffer not found (disposed?)');
    if (this.asynchronous) this.argumentsInFlight.push(b);
    return b.value;
  }

  readSync(dataId: DataId, dtype: DType): TypedArray {
    if (!this.supportsSyncRead) {
      throw new BackendError(
        this.name,
        'dataSync',
        'WebGPU has no synchronous read-back: use `await tensor.data()`',
      );
    }
    const v = this.arg(dataId);
    if (v instanceof Promise)
      throw new BackendError(
        this.name,
        'dataSync',
        'this buffer is still on its way: use `await tensor.data()`',
      );
    const floats = v instanceof Float32Array ? v : (v.toArray() as Float32Array);
    return fromFloats(floats, dtype);
  }

  async read(dataId: DataId, dtype: DType): Promise<TypedArray> {
    const b = this.buffers.get(dataId);
    if (!b) throw new BackendError(this.name, 'read', 'buffer not found (disposed?)');
    const v = await b.value;
    const floats = v instanceof Float32Array ? v : ((await v.toArray()) as Float32Array);
    return fromFloats(floats, dtype);
  }

  disposeData(dataId: DataId): void {
    const b = this.buffers.get(dataId);
    if (!b) return;
    this.buffers.delete(dataId);
    this.bytes -= b.length * 4;
    const release = (v: Resolved) => {
      if (!(v instanceof Float32Array)) v.delete();
    };
    if (b.value instanceof Promise || b.uses.length > 0) {
      Promise.allSettled([b.value, ...b.uses]).then(
        () => Promise.resolve(b.value).then(release),
        () => undefined,
      );
    } else release(b.value);
  }

  memory(): BackendMemory {
    return { buffers: this.buffers.size, bytes: this.bytes };
  }

  /**
   * The gpu.js kernel class each compiled kernel actually runs on (`WebGL2Kernel`,
   * `WebAssemblyKernel`, …): gpu.js can silently degrade a kernel to its CPU mode, and this is how
   * tests check that the mode asked for is the mode that ran.
   */
  kernelClasses(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, k] of this.kernels) {
      const inner = (k as unknown as { kernel?: { constructor: { name: string } } }).kernel;
      out[key] = inner?.constructor.name ?? 'unknown';
    }
    return out;
  }

  destroy(): void {
    for (const k of this.kernels.values()) k.destroy();
    this.kernels.clear();
    this.gpu.destroy();
  }

  // ---- kernels ---------------------------------------------------------------------------------

  /**
   * Runs the kernel `source` (compiled once under `key`) over a 1-D output of `size` cells and
   * returns its result as a new tensor.
   */
  run(key: string, source: string, shape: Shape, dtype: DType, args: readonly KernelArg[]): TensorInfo {
    const size = sizeOf(shape);
    if (size === 0) return { dataId: this.store(new Float32Array(0), 0), shape, dtype };
    const kernel = this.compile(key, source);
    const call = (resolved: readonly (number | Resolved)[]) => {
      kernel.setOutput([size]);
      // `immutable` makes every call return a fresh texture / array, so results can be kept.
      return kernel(...(resolved as never[])) as unknown as Stored;
    };
    let result: Stored;
    if (this.asynchronous) {
      // One call at a time: a WebGPU kernel reads its output size after the first await, so a
      // second call's setOutput must not overtake it.
      result = this.queue.then(() => Promise.all(args)).then(call);
      this.queue = result.catch(() => undefined);
      for (const b of this.argumentsInFlight) b.uses.push(result);
      this.argumentsInFlight = [];
    } else result = call(args as readonly (number | Resolved)[]);
    return { dataId: this.store(result, size), shape, dtype };
  }

  private compile(key: string, source: string): IKernelRunShortcut {
    let kernel = this.kernels.get(key);
    if (!kernel) {
      const settings = {
        output: [1],
        dynamicOutput: true,
        dynamicArguments: true,
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        loopMaxIterations: 1 << 24,
      };
      // gpu.js's typings omit `loopMaxIterations`, which its kernels accept.
      kernel = this.gpu.createKernel(source as never, settings as never);
      this.kernels.set(key, kernel);
    }
    return kernel;
  }

  private upload(values: Float32Array): Stored {
    const kernel = this.compile('__upload', 'function(a) { return a[this.thread.x]; }');
    const call = () => {
      kernel.setOutput([values.length]);
      return kernel(values as never) as unknown as Stored;
    };
    if (!this.asynchronous) return call();
    const result = this.queue.then(call);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function fromFloats(floats: Float32Array, dtype: DType): TypedArray {
  if (dtype === 'float32') return floats;
  if (dtype === 'int32') return Int32Array.from(floats, Math.round);
  return Uint8Array.from(floats, (v) => (v !== 0 ? 1 : 0));
}
