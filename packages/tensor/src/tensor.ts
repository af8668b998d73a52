import { backward } from './autograd/backward.js';
import type { Backend, DataId } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import type { GradNode } from './engine.js';
import { ENGINE } from './engine.js';
import { ArgumentError, DisposedError, ShapeError } from './errors/index.js';
import * as ops from './ops/index.js';
import { contiguousStrides, formatShape, type Shape, shapesEqual, sizeOf } from './shape.js';

/** Nested arrays as `array()` returns them. */
export type NestedArray = number | boolean | NestedArray[];

type Operand = Tensor | number;

/**
 * An N-d array on a backend, with reverse-mode autograd. Stored contiguously (row-major);
 * `reshape` shares storage, every other shape op copies.
 *
 * ```ts
 * const w = randn([3, 2], { seed: 2, requiresGrad: true });
 * const loss = matmul(randn([4, 3], { seed: 1 }), w).relu().sum();
 * loss.backward();
 * await w.grad!.data();
 * ```
 */
export class Tensor {
  /** Whether gradients flow to this tensor; leaves get `.grad` on `backward()`. */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it was recorded for autograd. */
  gradNode: GradNode | null = null;
  /** Bumped on every in-place `assign`, so saved tensors can be checked. */
  version = 0;
  /** @internal How many autograd nodes hold this tensor as an input. */
  retainers = 0;
  /** @internal `dispose()` was called; storage goes when no autograd node holds it. */
  disposeRequested = false;
  private _dataId: DataId;
  private _backend: Backend;

  constructor(
    readonly id: number,
    readonly shape: Shape,
    readonly dtype: DType,
    dataId: DataId,
    backend: Backend,
  ) {
    this._dataId = dataId;
    this._backend = backend;
  }

  get dataId(): DataId {
    return this._dataId;
  }

  get backend(): Backend {
    return this._backend;
  }

  /** @internal Used by the engine to move or replace storage. */
  setStorage(dataId: DataId, backend: Backend): void {
    this._dataId = dataId;
    this._backend = backend;
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  /** Row-major strides (in elements). */
  get strides(): number[] {
    return contiguousStrides(this.shape);
  }

  get isLeaf(): boolean {
    return this.gradNode === null;
  }

  get isDisposed(): boolean {
    return !ENGINE.isLive(this);
  }

  private assertLive(op: string): void {
    if (!ENGINE.isLive(this))
      throw new DisposedError(op, `tensor #${this.id} ${formatShape(this.shape)} was disposed`);
  }

  // ---- reading --------------------------------------------------------------------------------

  /** The values as a flat typed array (Float32Array, Int32Array, or Uint8Array for bool). */
  async data(): Promise<TypedArray> {
    this.assertLive('data');
    return (await this._backend.read(this._dataId, this.dtype)).slice() as TypedArray;
  }

  /** Synchronous `data()`, where the backend allows it (not WebGPU). */
  dataSync(): TypedArray {
    this.assertLive('dataSync');
    return this._backend.readSync(this._dataId, this.dtype).slice() as TypedArray;
  }

  async array(): Promise<NestedArray> {
    return toNested(await this.data(), this.shape, this.dtype);
  }

  arraySync(): NestedArray {
    return toNested(this.dataSync(), this.shape, this.dtype);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new ShapeError('item', `needs a tensor of one element, got ${formatShape(this.shape)}`);
    return this.dataSync()[0]!;
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype}, ${this._backend.name}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- memory and autograd --------------------------------------------------------------------

  dispose(): void {
    ENGINE.disposeTensor(this);
  }

  /**
   * Reverse-mode autodiff from this tensor: accumulates into `.grad` of every leaf that requires
   * grad. A non-scalar tensor needs `gradient` (dL/dthis).
   */
  backward(gradient?: Tensor): void {
    backward(this, gradient);
  }

  /** The same values, cut from the autograd graph (shares storage). */
  detach(): Tensor {
    this.assertLive('detach');
    return ENGINE.makeTensor({ dataId: this._dataId, shape: this.shape, dtype: this.dtype }, this._backend);
  }

  /** Marks this leaf as requiring grad (in place, like `requires_grad_()`). */
  requiresGrad_(value = true): this {
    if (!this.isLeaf) throw new ArgumentError('requiresGrad_', 'only leaves can change requiresGrad');
    this.requiresGrad = value;
    return this;
  }

  /** Clears `.grad` (disposing it). */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  /**
   * Replaces this tensor's values with `value`'s (same shape), in place: how optimizers update
   * parameters. Not recorded by autograd.
   */
  assign(value: Tensor): this {
    this.assertLive('assign');
    if (!shapesEqual(value.shape, this.shape)) {
      throw new ShapeError(
        'assign',
        `cannot assign ${formatShape(value.shape)} to ${formatShape(this.shape)}`,
      );
    }
    const v = value.dtype === this.dtype ? value : ops.cast(value, this.dtype);
    ENGINE.swapData(this, { dataId: v.dataId, shape: v.shape, dtype: v.dtype }, v.backend);
    if (v !== value) v.dispose();
    this.version++;
    return this;
  }

  /** A copy on the named backend. */
  to(backendName: string): Tensor {
    const values = this.dataSync();
    const backend = ENGINE.findBackend(backendName);
    return ENGINE.makeTensor(
      { dataId: backend.write(values, this.dtype), shape: this.shape, dtype: this.dtype },
      backend,
    );
  }

  // ---- op methods (PyTorch names) ------------------------------------------------------------

  add(b: Operand): Tensor {
    return ops.add(this, b);
  }
  sub(b: Operand): Tensor {
    return ops.sub(this, b);
  }
  mul(b: Operand): Tensor {
    return ops.mul(this, b);
  }
  div(b: Operand): Tensor {
    return ops.div(this, b);
  }
  pow(b: Operand): Tensor {
    return ops.pow(this, b);
  }
  maximum(b: Operand): Tensor {
    return ops.maximum(this, b);
  }
  minimum(b: Operand): Tensor {
    return ops.minimum(this, b);
  }
  eq(b: Operand): Tensor {
    return ops.eq(this, b);
  }
  ne(b: Operand): Tensor {
    return ops.ne(this, b);
  }
  lt(b: Operand): Tensor {
    return ops.lt(this, b);
  }
  le(b: Operand): Tensor {
    return ops.le(this, b);
  }
  gt(b: Operand): Tensor {
    return ops.gt(this, b);
  }
  ge(b: Operand): Tensor {
    return ops.ge(this, b);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  erf(): Tensor {
    return ops.erf(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  floor(): Tensor {
    return ops.floor(this);
  }
  ceil(): Tensor {
    return ops.ceil(this);
  }
  round(): Tensor {
    return ops.round(this);
  }
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  gelu(options?: ops.GeluOptions): Tensor {
    return ops.gelu(this, options);
  }
  silu(): Tensor {
    return ops.silu(this);
  }
  clamp(min?: number, max?: number): Tensor {
    return ops.clamp(this, min, max);
  }
  sum(dim?: number | number[], keepDim = false): Tensor {
    return ops.sum(this, dim, keepDim);
  }
  mean(dim?: number | number[], keepDim = false): Tensor {
    return ops.mean(this, dim, keepDim);
  }
  max(dim?: number | number[], keepDim = false): Tensor {
    return ops.max(this, dim, keepDim);
  }
  min(dim?: number | number[], keepDim = false): Tensor {
    return ops.min(this, dim, keepDim);
  }
  prod(dim?: number | number[], keepDim = false): Tensor {
    return ops.prod(this, dim, keepDim);
  }
  argmax(dim?: number, keepDim = false): Tensor {
    return ops.argmax(this, dim, keepDim);
  }
  argmin(dim?: number, keepDim = false): Tensor {
    return ops.argmin(this, dim, keepDim);
  }
  var(dim?: number | number[], options?: ops.VarianceOptions): Tensor {
    return ops.variance(this, dim, options);
  }
  std(dim?: number | number[], options?: ops.VarianceOptions): Tensor {
    return ops.std(this, dim, options);
  }
  logSumExp(dim: number | number[], keepDim = false): Tensor {
    return ops.logSumExp(this, dim, keepDim);
  }
  matmul(b: Tensor): Tensor {
    return ops.matmul(this, b);
  }
  reshape(...shape: number[] | [number[]]): Tensor {
    return ops.reshape(this, flattenArgs(shape));
  }
  view(...shape: number[] | [number[]]): Tensor {
    return ops.reshape(this, flattenArgs(shape));
  }
  transpose(dim0 = -2, dim1 = -1): Tensor {
    return ops.transpose(this, dim0, dim1);
  }
  /** Transpose of a matrix (rank ≤ 2), like `Tensor.T`. */
  get T(): Tensor {
    return this.rank < 2 ? this : ops.transpose(this, 0, 1);
  }
  permute(...dims: number[] | [number[]]): Tensor {
    return ops.permute(this, flattenArgs(dims));
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return ops.expand(this, flattenArgs(shape));
  }
  squeeze(dim?: number | number[]): Tensor {
    return ops.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return ops.unsqueeze(this, dim);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return ops.flatten(this, startDim, endDim);
  }
  split(splitSizeOrSections: number | number[], dim = 0): Tensor[] {
    return ops.split(this, splitSizeOrSections, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return ops.chunk(this, chunks, dim);
  }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return ops.slice(this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return ops.narrow(this, dim, start, length);
  }
  gather(dim: number, index: Tensor): Tensor {
    return ops.gather(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return ops.indexSelect(this, dim, index);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return ops.scatterAdd(this, dim, index, src);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return ops.maskedFill(this, mask, value);
  }
  where(condition: Tensor, other: Operand): Tensor {
    return ops.where(condition, this, other);
  }
  logicalNot(): Tensor {
    return ops.logicalNot(this);
  }
  pad(padding: number[], value = 0): Tensor {
    return ops.pad(this, padding, value);
  }
  softmax(dim = -1): Tensor {
    return ops.softmax(this, dim);
  }
  logSoftmax(dim = -1): Tensor {
    return ops.logSoftmax(this, dim);
  }
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  float(): Tensor {
    return ops.cast(this, 'float32');
  }
  int(): Tensor {
    return ops.cast(this, 'int32');
  }
  bool(): Tensor {
    return ops.cast(this, 'bool');
  }
  clone(): Tensor {
    return ops.clone(this);
  }
}

function flattenArgs(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

function toNested(values: TypedArray, shape: Shape, dtype: DType): NestedArray {
  const conv = dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return conv(values[0]!);
  const build = (offset: number, dim: number): NestedArray[] => {
    const n = shape[dim]!;
    const stride = sizeOf(shape.slice(dim + 1));
    const out: NestedArray[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = dim === shape.length - 1 ? conv(values[offset + i]!) : build(offset + i * stride, dim + 1);
    }
    return out;
  };
  return build(0, 0);
}
