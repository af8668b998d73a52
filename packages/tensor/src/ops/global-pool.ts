import { ShapeError } from '../errors/index.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertDType, assertTensor } from '../validation.js';
import { max, mean } from './reduce.js';

export interface GlobalPoolOptions {
  /** Keep H and W as size-1 axes, `[N, C, 1, 1]` (PyTorch's `AdaptiveAvgPool2d(1)`). Default false: `[N, C]`. */
  keepDim?: boolean;
}

function checkFeatureMap(op: string, x: Tensor): void {
  assertTensor(op, 'input', x);
  assertDType(op, 'input', x, 'float32');
  if (x.rank !== 4) throw new ShapeError(op, `input must be [N, C, H, W], got ${formatShape(x.shape)}`);
}

/**
 * Global average pooling: the mean of each channel over H and W, `[N, C, H, W] → [N, C]` (or
 * `[N, C, 1, 1]` with `keepDim`, as PyTorch's `AdaptiveAvgPool2d(1)`; Lin et al. 2014, "Network in
 * Network"). Differentiable.
 *
 * ```ts
 * globalAvgPool2d(randn([8, 64, 7, 7])); // [8, 64]
 * ```
 */
export function globalAvgPool2d(x: Tensor, options: GlobalPoolOptions = {}): Tensor {
  checkFeatureMap('globalAvgPool2d', x);
  return mean(x, [2, 3], options.keepDim ?? false);
}

/**
 * Global max pooling: the largest value of each channel over H and W, `[N, C, H, W] → [N, C]` (or
 * `[N, C, 1, 1]` with `keepDim`, as PyTorch's `AdaptiveMaxPool2d(1)`). The gradient goes to the
 * maximum, split evenly between ties.
 *
 * ```ts
 * globalMaxPool2d(randn([8, 64, 7, 7]), { keepDim: true }); // [8, 64, 1, 1]
 * ```
 */
export function globalMaxPool2d(x: Tensor, options: GlobalPoolOptions = {}): Tensor {
  checkFeatureMap('globalMaxPool2d', x);
  return max(x, [2, 3], options.keepDim ?? false);
}
