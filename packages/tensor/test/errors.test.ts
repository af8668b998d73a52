import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import * as T from '../src/index.js';

// Host-memory validation and IEEE log(0) = −∞ are properties of the cpu reference backend.
beforeAll(() => T.setBackend('cpu'));
afterEach(() => T.setAnomalyMode(false));

describe('typed errors name the op, the argument and the shapes', () => {
  it('a backend factory whose backend has another name', () => {
    class Misnamed extends CpuBackend {
      override readonly name = 'not-the-registered-name';
    }
    T.registerBackend('misnamed', () => new Misnamed());
    expect(() => T.setBackend('misnamed')).toThrow(
      /factory registered as 'misnamed' made a backend named 'not-the-registered-name'/,
    );
    T.setBackend('cpu');
  });

  it('matmul inner dimensions', () => {
    expect(() => T.matmul(T.zeros([2, 3]), T.zeros([4, 5]))).toThrow(
      new T.ShapeError('matmul', 'cannot multiply [2,3] by [4,5]: inner dimensions 3 and 4 differ'),
    );
    expect(() => T.matmul(T.zeros([2, 3]), T.zeros([4, 5]))).toThrow(T.ShapeError);
  });
  it('broadcasting', () => {
    expect(() => T.add(T.zeros([2, 3]), T.zeros([4]))).toThrow(/add: cannot broadcast \[2,3\] and \[4\]/);
  });
  it('reshape and axes', () => {
    expect(() => T.zeros([2, 3]).reshape(4, 2)).toThrow(
      /reshape: cannot reshape \[2,3\] \(6 elements\) into \[4,2\]/,
    );
    expect(() => T.zeros([2, 3]).sum(2)).toThrow(T.ArgumentError);
    expect(() => T.zeros([2, 3]).sum(2)).toThrow(/sum: dim 2 is out of range for a tensor of rank 2/);
  });
  it('dtypes', () => {
    expect(() => T.indexSelect(T.zeros([3]), 0, T.zeros([2]))).toThrow(
      new T.DTypeError('indexSelect', 'index must be int32, got float32'),
    );
    expect(() => T.zeros([2], { dtype: 'int32', requiresGrad: true })).toThrow(
      /only float32 tensors can require grad/,
    );
  });
  it('index ranges on host-memory backends', () => {
    const idx = T.tensor(new Int32Array([0, 5]));
    expect(() => T.embedding(idx, T.zeros([3, 2]))).toThrow(
      /embedding: index 5 at flat position 1 is out of range for the embedding table of size 3/,
    );
    expect(() => T.crossEntropy(T.zeros([2, 3]), T.tensor(new Int32Array([0, 3])))).toThrow(
      /crossEntropy: target 3 at position 1 is out of range for 3 classes/,
    );
  });
  it('ragged nested arrays', () => {
    expect(() => T.tensor([[1, 2], [3]])).toThrow(/tensor: ragged nested array at index \[1\]/);
  });
  it('an element that is not a number names its type and place, not "ragged"', () => {
    const bad = (v: unknown) => () => T.tensor(v as number[]);
    expect(bad([1, 'x'])).toThrow(T.DTypeError);
    expect(bad([1, 'x'])).toThrow(
      /tensor: element at index \[1\] is a string \("x"\); tensor\(\) takes numbers and booleans/,
    );
    expect(
      bad([
        [1, 2],
        [3, undefined],
      ]),
    ).toThrow(/element at index \[1\]\[1\] is undefined/);
    expect(bad([[1, 2], 'ab'])).toThrow(/element at index \[1\] is a string \("ab"\)/);
    expect(bad([null])).toThrow(/element at index \[0\] is null/);
    expect(bad([{}])).toThrow(/element at index \[0\] is an object/);
    expect(bad('7')).toThrow(/element at index \[\] is a string/);
  });
  it('a shape that is not an array of integers', () => {
    expect(() => T.zeros(undefined as unknown as number[])).toThrow(
      new T.ShapeError('full', 'shape must be an array of integers, got undefined'),
    );
    expect(() => T.randn('3' as unknown as number[])).toThrow(
      /randn: shape must be an array of integers, got string/,
    );
  });
  it('a shape too large for one typed array, or for memory, is a ShapeError (not a RangeError)', () => {
    expect(() => T.zeros([100000, 100000])).toThrow(T.ShapeError);
    expect(() => T.zeros([100000, 100000])).toThrow(
      /full: shape \[100000,100000\] has 10,000,000,000 elements; a tensor holds at most 4,294,967,296/,
    );
    expect(() => T.ones([1e5, 1e5], { dtype: 'int32' })).toThrow(T.ShapeError);
    expect(() => T.randn([1e6, 1e6])).toThrow(/randn: shape/);
    expect(() => T.rand([1e6, 1e6])).toThrow(/rand: shape/);
    expect(() => T.randint(0, 2, [1e6, 1e6])).toThrow(/randint: shape/);
    expect(() => T.arange(1e10)).toThrow(/arange: shape \[10000000000\]/);
    expect(() => T.arange(0, Number.POSITIVE_INFINITY)).toThrow(T.ArgumentError);
    expect(() => T.eye(1e5)).toThrow(/eye: shape \[100000,100000\]/);
    expect(() => T.eye(2.5)).toThrow(/eye: invalid shape/);
    expect(() => T.randperm(-1)).toThrow(/randperm: invalid shape/);
    // A kernel output too large (expand allocates its copy): typed, naming the kernel and inputs.
    expect(() => T.zeros([1]).expand([1e5, 1e5])).toThrow(T.ShapeError);
    expect(() => T.zeros([1]).expand([1e5, 1e5])).toThrow(
      /BroadcastTo: cannot allocate the output for inputs \[1\]: Invalid typed array length/,
    );
  });
  it("batched matmul names both operands' full shapes", () => {
    expect(() => T.matmul(T.zeros([2, 3, 4]), T.zeros([3, 4, 5]))).toThrow(
      new T.ShapeError(
        'matmul',
        'cannot multiply [2,3,4] by [3,4,5]: batch dimensions [2] and [3] do not broadcast',
      ),
    );
    expect(() => T.matmulTransposed(T.zeros([2, 4, 3]), T.zeros([5, 4, 5]), true, false)).toThrow(
      /cannot multiply \[2,4,3\] by \[5,4,5\]: batch dimensions \[2\] and \[5\] do not broadcast/,
    );
  });
  it('unknown backend and missing kernels', () => {
    expect(() => T.setBackend('tpu')).toThrow(T.BackendError);
    expect(() => T.setBackend('tpu')).toThrow(
      /\[backend tpu\] unknown backend; registered: cpu, wasm, wasm-1t/,
    );
  });
  it('use after dispose', () => {
    const x = T.ones([2]);
    x.dispose();
    expect(() => x.dataSync()).toThrow(T.DisposedError);
    expect(() => x.add(1)).toThrow(/was disposed/);
  });
  it('scopes refuse promises', () => {
    expect(() => T.scope(() => Promise.resolve(1))).toThrow(/scopes are synchronous/);
  });
  it('backward needs a gradient for non-scalars and a graph', () => {
    const w = T.ones([2, 2], { requiresGrad: true });
    expect(() => w.mul(2).backward()).toThrow(/a gradient is needed for a non-scalar output \[2,2\]/);
    expect(() => T.ones([1]).backward()).toThrow(/does not require grad/);
  });
  it('anomaly mode names the first op producing a non-finite value', () => {
    const x = T.tensor([1, 0, 2]);
    expect(() => T.withAnomalyMode(() => T.log(x.sub(x)).add(1))).toThrow(T.AnomalyError);
    expect(() => T.withAnomalyMode(() => T.log(x.sub(x)))).toThrow(
      /Log: produced -Infinity at flat index 0 of its \[3\] output/,
    );
    // Backward too: sqrt'(0) is infinite.
    const z = T.zeros([2], { requiresGrad: true });
    T.setAnomalyMode(true);
    expect(() => T.sqrt(z).sum().backward()).toThrow(/Div: produced Infinity/);
    T.setAnomalyMode(false);
    // Off: no error, the value is there.
    expect(T.log(x.sub(x)).dataSync()[0]).toBe(Number.NEGATIVE_INFINITY);
  });
  it('conv and pooling geometry', () => {
    expect(() => T.conv2d(T.zeros([1, 3, 4, 4]), T.zeros([2, 2, 3, 3]))).toThrow(
      /conv2d: input \[1,3,4,4\] has 3 channels but weight \[2,2,3,3\] expects 2/,
    );
    expect(() => T.maxPool2d(T.zeros([1, 1, 2, 2]), 3)).toThrow(/maxPool2d: kernel 3×3 does not fit input/);
  });
});
