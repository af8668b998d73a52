import { getGradient } from './autograd/gradient-registry.js';
import type { Backend, DataId, TensorInfo } from './backend.js';
import { BYTES_PER_ELEMENT, type DType, type TypedArray } from './dtype.js';
import { AnomalyError, ArgumentError, BackendError, DisposedError, ShapeError } from './errors/index.js';
import type { KernelAttrs, KernelName } from './kernel-names.js';
import { getKernel, type KernelArgs, type KernelConfig } from './kernel-registry.js';
import { formatShape, isAllocationFailure, type Shape, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

type BackendFactory = () => Backend;

/** How a backend takes part in the automatic choice of the default backend (`ready()`). */
export interface BackendOptions {
  /** Measured on first use (or by `ready()`) against the other candidates; the fastest becomes the default. */
  autoSelect?: boolean;
  /**
   * Whether this instance is a software emulation of a GPU (SwiftShader, llvmpipe): such a backend
   * is never chosen automatically, however it measures; `setBackend` still selects it.
   */
  isSoftware?: (backend: Backend) => boolean;
}

interface BackendEntry {
  factory: BackendFactory;
  options: BackendOptions;
  instance?: Backend;
}

interface DataRecord {
  backend: Backend;
  refCount: number;
  bytes: number;
}

/** One node of the autograd tape: the kernel that made a tensor, its inputs and attributes. */
export interface GradNode {
  kernelName: string;
  inputs: Tensor[];
  attrs: unknown;
  output: Tensor;
  /** Each input's `version` when the op ran: `backward()` refuses inputs changed in place since. */
  inputVersions: number[];
}

/** Live tensors and bytes, in total and per backend (like TF.js `memory()`). */
export interface MemoryInfo {
  tensors: number;
  bytes: number;
  backends: Record<string, { tensors: number; bytes: number; buffers: number }>;
}

/**
 * The one place tensors are made, kernels are dispatched, memory is counted and the autograd tape
 * is recorded. Ops call `runKernel`; users see it through `setBackend`, `scope`, `noGrad`, `memory`.
 */
class Engine {
  private readonly backends = new Map<string, BackendEntry>();
  private current: Backend | null = null;
  private readonly data = new Map<DataId, DataRecord>();
  private readonly live = new Set<Tensor>();
  private readonly scopes: Set<Tensor>[] = [];
  private readonly warnedForwards = new Set<string>();
  private nextId = 0;
  gradEnabled = true;
  anomalyMode = false;
  /** Where the one-time notes about CPU forwarding go; tests swap it. */
  warn: (message: string) => void = (m) => console.warn(m);

  registerBackend(name: string, factory: BackendFactory, options: BackendOptions = {}): void {
    const existing = this.backends.get(name);
    existing?.instance?.destroy?.();
    this.backends.set(name, { factory, options });
  }

  registeredBackends(): string[] {
    return [...this.backends.keys()];
  }

  /** The backends registered with `autoSelect`, in registration order, with their options. */
  selectionCandidates(): { name: string; options: BackendOptions }[] {
    return [...this.backends]
      .filter(([, e]) => e.options.autoSelect)
      .map(([name, e]) => ({ name, options: e.options }));
  }

  /** Whether a backend is in use (chosen by `setBackend` or by the automatic choice). */
  get hasBackend(): boolean {
    return this.current !== null;
  }

  findBackend(name: string): Backend {
    const entry = this.backends.get(name);
    if (!entry) {
      throw new BackendError(
        name,
        'setBackend',
        `unknown backend; registered: ${this.registeredBackends().join(', ')}`,
      );
    }
    if (!entry.instance) {
      const instance = entry.factory();
      // Kernels are looked up by the instance's name: a mismatch would silently run another
      // backend's kernels (or none).
      if (instance.name !== name) {
        throw new BackendError(
          name,
          'setBackend',
          `the factory registered as '${name}' made a backend named '${instance.name}'; give the backend that name (kernels are registered under it)`,
        );
      }
      entry.instance = instance;
    }
    return entry.instance;
  }

  setBackend(name: string): void {
    this.current = this.findBackend(name);
  }

  get backend(): Backend {
    if (!this.current) this.current = this.findBackend(this.defaultBackendName());
    return this.current;
  }

  /** Set by `backends/register.ts`: which registered backend to start on (measured: backend-selection.ts). */
  defaultBackendName: () => string = () => 'cpu';
  /** Where the one line naming the automatically chosen backend goes; tests swap it. */
  info: (message: string) => void = (m) => console.info(m);

  // ---- tensors and memory -------------------------------------------------------------------

  makeTensor(info: TensorInfo, backend: Backend): Tensor {
    const rec = this.data.get(info.dataId);
    if (rec) rec.refCount++;
    else {
      this.data.set(info.dataId, {
        backend,
        refCount: 1,
        bytes: sizeOf(info.shape) * BYTES_PER_ELEMENT[info.dtype],
      });
    }
    const t = new Tensor(this.nextId++, info.shape, info.dtype, info.dataId, backend);
    this.live.add(t);
    this.scopes.at(-1)?.add(t);
    return t;
  }

  /** Uploads host values to the current backend as a new tensor. */
  fromValues(values: TypedArray, shape: Shape, dtype: DType): Tensor {
    const backend = this.backend;
    return this.makeTensor({ dataId: backend.write(values, dtype), shape, dtype }, backend);
  }

  /**
   * Disposes a tensor. If an autograd node still holds it (it is an input of a recorded op whose
   * output is alive), the storage is freed only when that output goes: so a composite op can free
   * its intermediates in a scope while the tape still needs them for `backward()`.
   */
  disposeTensor(t: Tensor): void {
    if (!this.live.has(t) || t.disposeRequested) return;
    t.disposeRequested = true;
    for (const s of this.scopes) s.delete(t);
    if (t.retainers === 0) this.free(t);
  }

  private free(t: Tensor): void {
    if (!this.live.delete(t)) return;
    this.releaseData(t.dataId);
    const node = t.gradNode;
    t.gradNode = null;
    if (!node) return;
    for (const input of node.inputs) {
      input.retainers--;
      if (input.disposeRequested && input.retainers === 0) this.free(input);
    }
  }

  private releaseData(dataId: DataId): void {
    const rec = this.data.get(dataId);
    if (!rec) return;
    if (--rec.refCount === 0) {
      this.data.delete(dataId);
      rec.backend.disposeData(dataId);
    }
  }

  /** Points `target` at the storage of `source` (same shape and dtype), releasing its old storage. */
  swapData(target: Tensor, source: TensorInfo, backend: Backend): void {
    const rec = this.data.get(source.dataId);
    if (rec) rec.refCount++;
    else {
      this.data.set(source.dataId, {
        backend,
        refCount: 1,
        bytes: sizeOf(source.shape) * BYTES_PER_ELEMENT[source.dtype],
      });
    }
    const old = target.dataId;
    target.setStorage(source.dataId, backend);
    this.releaseData(old);
  }

  /** Not disposed by the user (its storage may outlive a dispose while autograd holds it). */
  isLive(t: Tensor): boolean {
    return this.live.has(t) && !t.disposeRequested;
  }

  /** Storage still held (possibly only for autograd). */
  isAllocated(t: Tensor): boolean {
    return this.live.has(t);
  }

  memory(): MemoryInfo {
    const backends: MemoryInfo['backends'] = {};
    let bytes = 0;
    for (const rec of this.data.values()) {
      const b = (backends[rec.backend.name] ??= { tensors: 0, bytes: 0, buffers: 0 });
      b.bytes += rec.bytes;
      b.buffers++;
      bytes += rec.bytes;
    }
    for (const t of this.live) {
      const b = (backends[t.backend.name] ??= { tensors: 0, bytes: 0, buffers: 0 });
      b.tensors++;
    }
    return { tensors: this.live.size, bytes, backends };
  }

  // ---- scopes ---------------------------------------------------------------------------------

  scope<T>(fn: () => T): T {
    const tracked = new Set<Tensor>();
    this.scopes.push(tracked);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      // Like TF.js `tidy`: what `fn` made is freed when it throws too (nothing was returned).
      this.scopes.pop();
      for (const t of tracked) this.disposeTensor(t);
      throw e;
    }
    this.scopes.pop();
    if (result instanceof Promise) {
      throw new ArgumentError(
        'scope',
        'the function returned a Promise; scopes are synchronous (await outside them)',
      );
    }
    const kept = new Set<Tensor>();
    collectTensors(result, kept);
    for (const t of tracked) {
      if (!kept.has(t)) this.disposeTensor(t);
    }
    const parent = this.scopes.at(-1);
    if (parent) for (const t of kept) if (this.live.has(t)) parent.add(t);
    return result;
  }

  /** The id the next tensor will get: tensors with `id >= mark` were made after this call. */
  creationMark(): number {
    return this.nextId;
  }

  /** Takes `t` out of every open scope, so that it survives them. */
  keep<T extends Tensor>(t: T): T {
    for (const s of this.scopes) s.delete(t);
    return t;
  }

  // ---- kernels --------------------------------------------------------------------------------

  /** Moves a tensor made on another backend onto the current one (a copy through the host). */
  private onCurrentBackend(t: Tensor, op: string): void {
    if (!this.live.has(t) || (t.disposeRequested && t.retainers === 0))
      throw new DisposedError(op, `tensor #${t.id} ${formatShape(t.shape)} was disposed`);
    const backend = this.backend;
    if (t.backend === backend) return;
    const values = t.backend.readSync(t.dataId, t.dtype);
    const copy = values.slice() as TypedArray;
    this.swapData(t, { dataId: backend.write(copy, t.dtype), shape: t.shape, dtype: t.dtype }, backend);
  }

  /** Receives every top-level kernel call while `profile()` runs (see profile.ts). */
  kernelObserver: ((kernelName: string, inputs: readonly Tensor[], ms: number) => void) | null = null;
  private kernelDepth = 0;

  runKernel<N extends KernelName>(kernelName: N, inputs: readonly Tensor[], attrs: KernelAttrs[N]): Tensor {
    for (const t of inputs) this.onCurrentBackend(t, kernelName);
    const backend = this.backend;
    let info: TensorInfo;
    try {
      info = this.kernelObserver
        ? this.observedDispatch(kernelName, backend, inputs, attrs)
        : this.dispatch(kernelName, backend, inputs, attrs);
    } catch (e) {
      // A kernel whose output does not fit in memory: a typed error, not a bare RangeError.
      if (!isAllocationFailure(e)) throw e;
      throw new ShapeError(
        kernelName,
        `cannot allocate the output for inputs ${inputs.map((t) => formatShape(t.shape)).join(', ')}: ${e.message}`,
      );
    }
    const out = this.makeTensor(info, backend);
    if (this.anomalyMode) this.checkFinite(kernelName, inputs, out);
    this.record(kernelName, inputs, attrs, out);
    return out;
  }

  /** A tensor that shares `input`'s storage under a new shape (reshape), taped as `Reshape`. */
  view(input: Tensor, shape: Shape): Tensor {
    if (!this.live.has(input)) throw new DisposedError('reshape', `tensor #${input.id} was disposed`);
    const out = this.makeTensor({ dataId: input.dataId, shape, dtype: input.dtype }, input.backend);
    this.record('Reshape', [input], { shape }, out);
    return out;
  }

  /** `dispatch`, timed for the observer; kernels a kernel calls count in their caller's time. */
  private observedDispatch(
    kernelName: string,
    backend: Backend,
    inputs: readonly Tensor[],
    attrs: unknown,
  ): TensorInfo {
    const start = performance.now();
    this.kernelDepth++;
    try {
      return this.dispatch(kernelName, backend, inputs, attrs);
    } finally {
      this.kernelDepth--;
      if (this.kernelDepth === 0) this.kernelObserver?.(kernelName, inputs, performance.now() - start);
    }
  }

  /**
   * Runs the current backend's kernel for the op; when there is none or it declines (returns
   * `null`), the fallback chain documented on `KernelConfig`. The common case costs one registry
   * lookup and one call: the fallback is off the hot path.
   */
  private dispatch(
    kernelName: string,
    backend: Backend,
    inputs: readonly TensorInfo[],
    attrs: unknown,
  ): TensorInfo {
    const args: KernelArgs<never> = { inputs, attrs: attrs as never, backend };
    const kernel = getKernel(kernelName, backend.name);
    const out = kernel ? kernel.kernelFunc(args) : null;
    return out ?? this.fallback(kernelName, args, kernel !== undefined);
  }

  /**
   * Steps 2 to 4 of the chain: the `kernelFallback` backend's kernel on `backend`'s own storage,
   * else the cpu kernel through a copy, else a `BackendError`.
   */
  private fallback(kernelName: string, args: KernelArgs<never>, declined: boolean): TensorInfo {
    const { backend, inputs, attrs } = args;
    const shared = backend.kernelFallback;
    if (shared !== undefined) {
      // Instantiating it registers its kernels (the built-in backends register them lazily). The
      // same args: common on wasm (same-shape Add, int32 ops), so nothing is allocated here.
      this.findBackend(shared);
      const kernel = getKernel(kernelName, shared);
      const out = kernel ? kernel.kernelFunc(args) : null;
      if (out) return out;
      declined ||= kernel !== undefined;
    }
    const cpu = this.findBackend('cpu');
    const cpuKernel = getKernel(kernelName, 'cpu');
    if (backend === cpu || shared === 'cpu' || !cpuKernel) {
      throw new BackendError(
        backend.name,
        kernelName,
        declined
          ? `every kernel for '${kernelName}' declined this call (${inputs.map((t) => `${t.dtype} ${formatShape(t.shape)}`).join(', ')})`
          : `no kernel '${kernelName}' is registered for this backend`,
      );
    }
    return this.forwardToCpu(kernelName, cpuKernel, cpu, backend, inputs, attrs);
  }

  /**
   * Runs the cpu kernel for another backend, copying inputs and output through the host; noted
   * once per backend and kernel.
   */
  private forwardToCpu(
    kernelName: string,
    cpuKernel: KernelConfig,
    cpu: Backend,
    backend: Backend,
    inputs: readonly TensorInfo[],
    attrs: unknown,
  ): TensorInfo {
    if (!this.warnedForwards.has(`${backend.name}/${kernelName}`)) {
      this.warnedForwards.add(`${backend.name}/${kernelName}`);
      this.warn(
        `polymodal: backend '${backend.name}' cannot run '${kernelName}' here; running it on the cpu backend`,
      );
    }
    const cpuInputs = inputs.map((t) => ({
      dataId: cpu.write(backend.readSync(t.dataId, t.dtype).slice() as TypedArray, t.dtype),
      shape: t.shape,
      dtype: t.dtype,
    }));
    const out = cpuKernel.kernelFunc({ inputs: cpuInputs, attrs: attrs as never, backend: cpu });
    for (const t of cpuInputs) if (t.dataId !== out?.dataId) cpu.disposeData(t.dataId);
    if (!out) {
      throw new BackendError(
        backend.name,
        kernelName,
        `the cpu kernel for '${kernelName}' declined this call; cpu kernels must not decline`,
      );
    }
    const values = cpu.readSync(out.dataId, out.dtype).slice() as TypedArray;
    cpu.disposeData(out.dataId);
    return { dataId: backend.write(values, out.dtype), shape: out.shape, dtype: out.dtype };
  }

  private checkFinite(kernelName: string, inputs: readonly Tensor[], out: Tensor): void {
    if (out.dtype !== 'float32' || !out.backend.supportsSyncRead) return;
    const values = out.backend.readSync(out.dataId, out.dtype);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        const shapes = inputs.map((t) => formatShape(t.shape)).join(', ');
        throw new AnomalyError(
          kernelName,
          `produced ${values[i]} at flat index ${i} of its ${formatShape(out.shape)} output (inputs ${shapes})`,
        );
      }
    }
  }

  private record(kernelName: string, inputs: readonly Tensor[], attrs: unknown, out: Tensor): void {
    if (!this.gradEnabled || out.dtype !== 'float32') return;
    if (!inputs.some((t) => t.requiresGrad)) return;
    if (!getGradient(kernelName)) return;
    out.requiresGrad = true;
    out.gradNode = {
      kernelName,
      inputs: [...inputs],
      attrs,
      output: out,
      inputVersions: inputs.map((t) => t.version),
    };
    for (const t of inputs) t.retainers++;
  }
}

function collectTensors(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, into, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, into, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into, depth + 1);
  }
}

export const ENGINE = new Engine();

/** Switches the backend new tensors and kernels use: `'wasm'`, `'cpu'`, `'gpujs'` (with `@polymodal/backend-gpujs`), … */
export function setBackend(name: string): void {
  ENGINE.setBackend(name);
}

/** The name of the current backend. */
export function getBackend(): string {
  return ENGINE.backend.name;
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (like TF.js `tidy`).
 * Gradients that `backward()` writes to leaves survive. When `fn` throws, everything it created
 * (and did not `keep`) is disposed before the error propagates.
 *
 * ```ts
 * const loss = scope(() => model.forward(x).sub(y).square().mean());
 * ```
 */
export function scope<T>(fn: () => T): T {
  return ENGINE.scope(fn);
}

/** Lets `t` outlive the scopes that are open now. */
export function keep<T extends Tensor>(t: T): T {
  return ENGINE.keep(t);
}

/**
 * A point in the order tensors are made, for code that hands control to a user's function or
 * iterator and must free what came back: `tensorsIn(batch, { since: mark })` lists the tensors of
 * `batch` made after the mark (tensors made earlier, e.g. a cached dataset, are left alone).
 *
 * ```ts
 * const mark = creationMark();
 * const batch = collate(samples);
 * const owned = tensorsIn(batch, { since: mark }); // the caller frees these when done
 * ```
 */
export function creationMark(): number {
  return ENGINE.creationMark();
}

/**
 * The tensors inside `value` (a tensor, or arrays, plain objects and Maps of them, nested up to 8
 * levels), each once; with `since`, only those made after that `creationMark()`.
 *
 * ```ts
 * tensorsIn({ x: a, ys: [b, c], label: 'cat' }); // [a, b, c]
 * ```
 */
export function tensorsIn(value: unknown, options: { since?: number } = {}): Tensor[] {
  const found = new Set<Tensor>();
  collectTensors(value, found);
  const since = options.since;
  return since === undefined ? [...found] : [...found].filter((t) => t.id >= since);
}

/** Disposes every tensor inside `value` (nested as for `tensorsIn`), like TF.js `dispose(container)`. */
export function disposeTensors(value: unknown): void {
  for (const t of tensorsIn(value)) t.dispose();
}

/** Live tensors and bytes, in total and per backend. */
export function memory(): MemoryInfo {
  return ENGINE.memory();
}

/** Runs `fn` without recording the autograd tape (like `torch.no_grad`). */
export function noGrad<T>(fn: () => T): T {
  const prev = ENGINE.gradEnabled;
  ENGINE.gradEnabled = false;
  try {
    return fn();
  } finally {
    ENGINE.gradEnabled = prev;
  }
}

/** Whether operations are being recorded for autograd now. */
export function isGradEnabled(): boolean {
  return ENGINE.gradEnabled;
}

/**
 * Anomaly mode: every kernel output is checked, and the first NaN or ±Infinity raises an
 * `AnomalyError` naming the kernel and the input shapes (forward and backward alike). Slow: for
 * debugging. With a function, the mode holds only while it runs.
 */
export function setAnomalyMode(enabled: boolean): void {
  ENGINE.anomalyMode = enabled;
}

/**
 * Whether anomaly mode is on (`torch.is_anomaly_enabled()`): libraries read this to run their
 * debug-only checks that need values on the host (a device sync), e.g. the losses' NaN checks.
 *
 * ```ts
 * if (isAnomalyEnabled()) assertFinite(logits); // only while debugging
 * ```
 */
export function isAnomalyEnabled(): boolean {
  return ENGINE.anomalyMode;
}

export function withAnomalyMode<T>(fn: () => T): T {
  const prev = ENGINE.anomalyMode;
  ENGINE.anomalyMode = true;
  try {
    return fn();
  } finally {
    ENGINE.anomalyMode = prev;
  }
}
