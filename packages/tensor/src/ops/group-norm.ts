import { scope } from '../engine.js';
import { ArgumentError, ShapeError } from '../errors/index.js';
import { formatShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertDType, assertTensor } from '../validation.js';
import { layerNorm } from './nn-functional.js';
import { reshape } from './shape-ops.js';

/**
 * Group normalization (Wu & He 2018), PyTorch's `F.group_norm`: the C channels of `x [N, C, …]`
 * are split into `numGroups` groups; each sample's group is normalized over its channels and every
 * trailing axis (biased variance), then `weight [C]` and `bias [C]` scale and shift per channel.
 * Independent of the batch, so train and eval agree. Built on `layerNorm` over `[N, G, C/G·L]`
 * (its fused kernel where the backend has one).
 *
 * ```ts
 * groupNorm(randn([2, 32, 8, 8]), 8, weight, bias); // [2, 32, 8, 8]
 * ```
 */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const op = 'groupNorm';
  assertTensor(op, 'input', x);
  assertDType(op, 'input', x, 'float32');
  if (x.rank < 2) throw new ShapeError(op, `input must be [N, C, …], got ${formatShape(x.shape)}`);
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  if (!Number.isInteger(numGroups) || numGroups <= 0 || c % numGroups !== 0) {
    throw new ArgumentError(
      op,
      `numGroups must be a positive integer dividing the ${c} channels of ${formatShape(x.shape)}, got ${numGroups}`,
    );
  }
  if (!(eps >= 0)) throw new ArgumentError(op, `eps must be ≥ 0, got ${eps}`);
  for (const [name, p] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (p === null || p === undefined) continue;
    assertTensor(op, name, p);
    if (p.rank !== 1 || p.shape[0] !== c)
      throw new ShapeError(op, `${name} ${formatShape(p.shape)} must be [${c}], one value per channel`);
  }
  const l = sizeOf(x.shape) / Math.max(1, n * c);
  const groupSize = (c / numGroups) * l;
  return scope(() => {
    const normalized = layerNorm(reshape(x, [n, numGroups, groupSize]), [groupSize], null, null, eps);
    let y = reshape(normalized, [n, c, l]);
    if (weight) y = y.mul(reshape(weight, [c, 1]));
    if (bias) y = y.add(reshape(bias, [c, 1]));
    return reshape(y, x.shape);
  });
}
