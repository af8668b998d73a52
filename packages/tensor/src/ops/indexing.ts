import { ENGINE, scope } from '../engine.js';
import { ArgumentError, ShapeError } from '../errors/index.js';
import { formatShape, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertDType, assertTensor, checkPositiveInt } from '../validation.js';
import { eq, where } from './binary.js';
import { arange } from './creation.js';
import { flatten, reshape, unsqueeze } from './shape-ops.js';

/**
 * Checks index values against `size` where the backend keeps buffers in host memory (a GPU
 * backend would stall on the read): out-of-range indices fail here, naming the op.
 */
function checkIndexRange(op: string, index: Tensor, size: number, what: string): void {
  if (!index.backend.hostMemory || index.size === 0) return;
  const values = index.backend.readSync(index.dataId, index.dtype);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v >= size) {
      throw new ArgumentError(
        op,
        `index ${v} at flat position ${i} is out of range for ${what} of size ${size}`,
      );
    }
  }
}

/** Picks entries along `dim` with a 1-D int32 index: `indexSelect(x, 0, tensor([2, 0], {dtype:'int32'}))`. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor('indexSelect', 'input', x);
  assertTensor('indexSelect', 'index', index);
  assertDType('indexSelect', 'index', index, 'int32');
  if (index.rank !== 1)
    throw new ShapeError('indexSelect', `index must be 1-D, got ${formatShape(index.shape)}`);
  const axis = normalizeAxis('indexSelect', dim, x.rank);
  checkIndexRange('indexSelect', index, x.shape[axis]!, `dim ${axis}`);
  return ENGINE.runKernel('Gather', [x, index], { axis });
}

/** Adds rows of `src` into `x` at `index` along `dim` (like `torch.index_add`). */
export function indexAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  assertTensor('indexAdd', 'input', x);
  assertDType('indexAdd', 'index', index, 'int32');
  const axis = normalizeAxis('indexAdd', dim, x.rank);
  const expected = x.shape.map((d, i) => (i === axis ? index.shape[0]! : d));
  if (index.rank !== 1 || src.rank !== x.rank || src.shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(
      'indexAdd',
      `src ${formatShape(src.shape)} must be ${formatShape(expected)} for index ${formatShape(index.shape)}`,
    );
  }
  checkIndexRange('indexAdd', index, x.shape[axis]!, `dim ${axis}`);
  return ENGINE.runKernel('IndexAdd', [x, index, src], { axis });
}

/** `torch.gather`: `out[i][j] = x[i][index[i][j]]` for `dim = 1`; `index` has x's rank. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor('gather', 'input', x);
  assertTensor('gather', 'index', index);
  assertDType('gather', 'index', index, 'int32');
  const axis = normalizeAxis('gather', dim, x.rank);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== axis && d > x.shape[i]!)) {
    throw new ShapeError(
      'gather',
      `index ${formatShape(index.shape)} does not fit input ${formatShape(x.shape)} outside dim ${axis}`,
    );
  }
  checkIndexRange('gather', index, x.shape[axis]!, `dim ${axis}`);
  return ENGINE.runKernel('GatherElements', [x, index], { axis });
}

/** `torch.scatter_add`: a copy of `x` with `out[i][index[i][j]] += src[i][j]` (for `dim = 1`). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  assertTensor('scatterAdd', 'input', x);
  assertDType('scatterAdd', 'index', index, 'int32');
  const axis = normalizeAxis('scatterAdd', dim, x.rank);
  if (
    index.rank !== x.rank ||
    src.rank !== x.rank ||
    index.shape.some((d, i) => d > src.shape[i]! || (i !== axis && d > x.shape[i]!))
  ) {
    throw new ShapeError(
      'scatterAdd',
      `index ${formatShape(index.shape)}, src ${formatShape(src.shape)} and input ${formatShape(x.shape)} do not fit`,
    );
  }
  checkIndexRange('scatterAdd', index, x.shape[axis]!, `dim ${axis}`);
  return ENGINE.runKernel('ScatterAdd', [x, index, src], { axis });
}

/** One-hot rows (int32) for integer class indices: shape `[...indices.shape, numClasses]`. */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  assertTensor('oneHot', 'indices', indices);
  assertDType('oneHot', 'indices', indices, 'int32');
  checkPositiveInt('oneHot', 'numClasses', numClasses);
  checkIndexRange('oneHot', indices, numClasses, 'numClasses');
  return scope(() => eq(unsqueeze(indices, -1), arange(numClasses)).int());
}

/** Looks up rows of `weight [num, dim]` for int32 `indices` of any shape: `[...indices.shape, dim]`. */
export function embedding(indices: Tensor, weight: Tensor): Tensor {
  assertTensor('embedding', 'indices', indices);
  assertTensor('embedding', 'weight', weight);
  assertDType('embedding', 'indices', indices, 'int32');
  if (weight.rank !== 2)
    throw new ShapeError('embedding', `weight must be [num, dim], got ${formatShape(weight.shape)}`);
  checkIndexRange('embedding', indices, weight.shape[0]!, 'the embedding table');
  return scope(() =>
    reshape(ENGINE.runKernel('Gather', [weight, flatten(indices)], { axis: 0 }), [
      ...indices.shape,
      weight.shape[1]!,
    ]),
  );
}

/** `x` with `value` where `mask` is true (mask broadcasts). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  assertTensor('maskedFill', 'input', x);
  assertTensor('maskedFill', 'mask', mask);
  assertDType('maskedFill', 'mask', mask, 'bool');
  return where(mask, value, x);
}
