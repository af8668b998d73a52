/**
 * The op conformance table: every op, forward and (where differentiable) backward, with inputs
 * built from fixed seeds. `conformance.test.ts` runs it on each backend against the cpu reference.
 */

import type { Tensor } from '../index.js';
import * as T from '../index.js';

export interface ConformanceCase {
  name: string;
  /** Builds the inputs on the current backend (same values everywhere: drawn on the host). */
  inputs: () => Tensor[];
  run: (...xs: Tensor[]) => Tensor | Tensor[];
  /** Compare input gradients too (float inputs only). Default true. */
  backward?: boolean;
  atol?: number;
  rtol?: number;
}

const r = (shape: number[], seed: number, scale = 1) => T.randn(shape, { seed, std: scale });
const pos = (shape: number[], seed: number) => T.rand(shape, { seed, low: 0.5, high: 2 });
const ints = (values: number[], shape = [values.length]) => T.tensor(new Int32Array(values), { shape });
const bools = (values: boolean[], shape = [values.length]) => T.tensor(values, { shape, dtype: 'bool' });

const unary = (
  name: string,
  fn: (x: Tensor) => Tensor,
  input: () => Tensor = () => r([3, 4], 1),
): ConformanceCase => ({
  name,
  inputs: () => [input()],
  run: fn,
});

export const CONFORMANCE_CASES: ConformanceCase[] = [
  // ---- elementwise -----------------------------------------------------------------------------
  unary('neg', T.neg),
  unary('exp', T.exp),
  unary('log', T.log, () => pos([3, 4], 2)),
  unary('sqrt', T.sqrt, () => pos([3, 4], 3)),
  unary('rsqrt', T.rsqrt, () => pos([3, 4], 4)),
  unary('abs', T.abs),
  unary('sign', T.sign),
  unary('tanh', T.tanh, () => r([3, 4], 5, 3)),
  unary('sigmoid', T.sigmoid, () => r([3, 4], 6, 5)),
  unary('relu', T.relu),
  unary('gelu', (x) => T.gelu(x)),
  unary('gelu tanh', (x) => T.gelu(x, { approximate: 'tanh' })),
  unary('silu', T.silu),
  unary('erf', T.erf, () => r([3, 4], 7, 2)),
  unary('sin', T.sin),
  unary('cos', T.cos),
  unary('floor', T.floor, () => r([3, 4], 8, 3)),
  unary('ceil', T.ceil, () => r([3, 4], 9, 3)),
  {
    name: 'round half to even',
    inputs: () => [T.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6, 3])],
    run: T.round,
  },
  unary('square', T.square),
  unary('reciprocal', T.reciprocal, () => pos([3, 4], 10)),
  unary('pow scalar', (x) => x.pow(3)),
  unary('clamp', (x) => T.clamp(x, -0.5, 0.7)),
  { name: 'add broadcast', inputs: () => [r([2, 3, 4], 11), r([3, 1], 12)], run: T.add },
  { name: 'sub broadcast', inputs: () => [r([4], 13), r([2, 1, 4], 14)], run: T.sub },
  { name: 'mul broadcast', inputs: () => [r([2, 3, 4], 15), r([2, 1, 4], 16)], run: T.mul },
  { name: 'div', inputs: () => [r([3, 4], 17), pos([4], 18)], run: T.div },
  { name: 'mul scalar', inputs: () => [r([3, 4], 19)], run: (x) => x.mul(2.5).add(1) },
  { name: 'pow tensor', inputs: () => [pos([3, 4], 20), r([3, 4], 21)], run: T.pow },
  {
    name: 'pow negative base, integer exponent',
    inputs: () => [T.tensor([-2, -1.5, 3, -0.5])],
    run: (x) => x.pow(3),
    backward: false,
  },
  { name: 'maximum', inputs: () => [r([3, 4], 22), r([4], 23)], run: T.maximum },
  { name: 'minimum', inputs: () => [r([3, 4], 24), r([3, 1], 25)], run: T.minimum },
  { name: 'five-dim broadcast', inputs: () => [r([2, 1, 3, 1, 2], 26), r([2, 2, 1, 2, 2], 27)], run: T.add },
  { name: 'int add', inputs: () => [ints([1, -2, 3, 4]), ints([5, 6, -7, 8])], run: T.add, backward: false },
  ...Object.entries({ eq: T.eq, ne: T.ne, lt: T.lt, le: T.le, gt: T.gt, ge: T.ge }).map(
    ([name, op]): ConformanceCase => ({
      name,
      inputs: () => [
        T.tensor([
          [1, 2, 3],
          [3, 2, 1],
        ]),
        T.tensor([2, 2, 2]),
      ],
      run: (a, b) => op(a, b),
      backward: false,
    }),
  ),
  {
    name: 'logical ops',
    inputs: () => [bools([true, false, true, false]), bools([true, true, false, false])],
    run: (a, b) => [T.logicalAnd(a, b), T.logicalOr(a, b), T.logicalNot(a)],
    backward: false,
  },
  {
    name: 'where',
    inputs: () => [r([3, 4], 28), r([3, 4], 29), r([4], 30)],
    run: (c, a, b) => T.where(c.gt(0), a, b),
  },
  {
    name: 'maskedFill',
    inputs: () => [r([2, 3], 31)],
    run: (x) => T.maskedFill(x, bools([true, false, true]), -3),
  },
  {
    name: 'cast',
    inputs: () => [r([3, 4], 32, 4)],
    run: (x) => [x.int(), x.bool(), x.int().float()],
    backward: false,
  },
  // ---- reductions --------------------------------------------------------------------------------
  { name: 'sum all', inputs: () => [r([2, 3, 4], 33)], run: (x) => x.sum() },
  { name: 'sum axis 1 keepDim', inputs: () => [r([2, 3, 4], 34)], run: (x) => x.sum(1, true) },
  { name: 'sum axes 0,2 (non-contiguous)', inputs: () => [r([2, 3, 4], 35)], run: (x) => x.sum([0, 2]) },
  { name: 'mean', inputs: () => [r([2, 3, 4], 36)], run: (x) => [x.mean(-1), x.mean()] },
  { name: 'max', inputs: () => [r([2, 3, 4], 37)], run: (x) => x.max(1) },
  { name: 'min', inputs: () => [r([2, 3, 4], 38)], run: (x) => x.min([0, 1]) },
  { name: 'prod', inputs: () => [pos([2, 3], 39)], run: (x) => x.prod(1) },
  {
    name: 'argmax/argmin',
    inputs: () => [r([3, 5], 40)],
    run: (x) => [x.argmax(1), x.argmin(0), x.argmax()],
    backward: false,
  },
  {
    name: 'argmax/argmin with NaN (first NaN wins)',
    inputs: () => [
      T.tensor([
        [1, Number.NaN, 3, Number.NaN],
        [Number.NaN, 2, 0, 5],
        [4, 3, 2, 1],
      ]),
    ],
    run: (x) => [x.argmax(1), x.argmin(1), x.argmax(0), x.argmin(0), x.argmax(), x.argmin()],
    backward: false,
  },
  {
    name: 'var/std',
    inputs: () => [r([3, 5], 41)],
    run: (x) => [x.var(1), x.std(0, { correction: 0, keepDim: true })],
  },
  { name: 'logSumExp', inputs: () => [r([3, 5], 42, 10)], run: (x) => x.logSumExp(1) },
  // ---- matmul ------------------------------------------------------------------------------------
  { name: 'matmul 2d', inputs: () => [r([5, 7], 43), r([7, 3], 44)], run: T.matmul },
  { name: 'matmul batched', inputs: () => [r([2, 5, 7], 45), r([2, 7, 3], 46)], run: T.matmul },
  { name: 'matmul broadcast batch', inputs: () => [r([2, 1, 4, 3], 47), r([3, 3, 2], 48)], run: T.matmul },
  { name: 'matmul 3d by 2d', inputs: () => [r([2, 4, 3], 49), r([3, 5], 50)], run: T.matmul },
  {
    name: 'matmul vectors',
    inputs: () => [r([4], 51), r([4, 3], 52), r([3], 53)],
    run: (a, b, c) => [T.matmul(a, b), T.matmul(b, c), T.matmul(a, a)],
  },
  { name: 'linear', inputs: () => [r([2, 3, 4], 54), r([5, 4], 55), r([5], 56)], run: T.linear },
  {
    name: 'matmulTransposed',
    inputs: () => [r([2, 4, 3], 57), r([2, 5, 4], 58)],
    run: (a, b) => T.matmulTransposed(a, b, true, true),
  },
  // ---- shape ops ---------------------------------------------------------------------------------
  {
    name: 'reshape/flatten/squeeze/unsqueeze',
    inputs: () => [r([2, 1, 6], 59)],
    run: (x) => x.reshape(3, -1).unsqueeze(0).squeeze().flatten().mul(2),
  },
  { name: 'transpose', inputs: () => [r([2, 3, 4], 60)], run: (x) => x.transpose(0, 2) },
  { name: 'permute', inputs: () => [r([2, 3, 4, 5], 61)], run: (x) => x.permute(0, 2, 1, 3) },
  { name: 'permute rank 5', inputs: () => [r([2, 3, 2, 2, 3], 62)], run: (x) => x.permute(4, 2, 0, 3, 1) },
  { name: 'expand', inputs: () => [r([3, 1], 63)], run: (x) => x.expand(2, 3, 4) },
  {
    name: 'cat',
    inputs: () => [r([2, 3], 64), r([2, 1], 65), r([2, 2], 66)],
    run: (a, b, c) => T.cat([a, b, c], 1),
  },
  { name: 'cat dim 0', inputs: () => [r([1, 3], 67), r([2, 3], 68)], run: (a, b) => T.cat([a, b], 0) },
  { name: 'stack', inputs: () => [r([2, 3], 69), r([2, 3], 70)], run: (a, b) => T.stack([a, b], 1) },
  {
    name: 'split/chunk',
    inputs: () => [r([5, 4], 71)],
    run: (x) => [...x.split([2, 3], 0), ...x.chunk(2, 1)],
  },
  {
    name: 'slice',
    inputs: () => [r([4, 6], 72)],
    run: (x) => [x.slice(1, 1, 5), x.slice(0, -3), x.slice(1, 0, 6, 2)],
  },
  { name: 'narrow', inputs: () => [r([4, 6], 73)], run: (x) => x.narrow(0, 1, 2) },
  {
    name: 'pad',
    inputs: () => [r([2, 3, 4], 74)],
    run: (x) => [T.pad(x, [1, 2]), T.pad(x, [0, 1, 2, 0], 3)],
  },
  // ---- indexing ----------------------------------------------------------------------------------
  {
    name: 'indexSelect',
    inputs: () => [r([4, 3], 75)],
    run: (x) => [x.indexSelect(0, ints([3, 0, 3])), x.indexSelect(1, ints([2, 1]))],
  },
  {
    name: 'gather',
    inputs: () => [r([3, 4], 76)],
    run: (x) => x.gather(1, ints([0, 3, 1, 1, 2, 0], [3, 2])),
  },
  {
    name: 'gather dim 0',
    inputs: () => [r([3, 4], 77)],
    run: (x) => x.gather(0, ints([2, 0, 1, 2], [1, 4])),
  },
  {
    name: 'scatterAdd',
    inputs: () => [r([3, 4], 78), r([3, 2], 79)],
    run: (x, s) => x.scatterAdd(1, ints([0, 3, 1, 1, 2, 0], [3, 2]), s),
  },
  {
    name: 'indexAdd',
    inputs: () => [r([4, 3], 80), r([3, 3], 81)],
    run: (x, s) => T.indexAdd(x, 0, ints([1, 3, 1]), s),
  },
  {
    name: 'embedding',
    inputs: () => [r([5, 3], 82)],
    run: (w) => T.embedding(ints([4, 0, 2, 2], [2, 2]), w),
  },
  { name: 'oneHot', inputs: () => [ints([0, 2, 1])], run: (i) => T.oneHot(i, 4), backward: false },
  // ---- convolution -------------------------------------------------------------------------------
  {
    name: 'conv2d',
    inputs: () => [r([2, 3, 6, 5], 83), r([4, 3, 3, 3], 84), r([4], 85)],
    run: (x, w, b) => T.conv2d(x, w, b, { stride: [2, 1], padding: 1 }),
    atol: 3e-4,
  },
  {
    name: 'conv2d batch 3, stride 2, no bias',
    inputs: () => [r([3, 2, 7, 6], 115), r([5, 2, 3, 3], 116)],
    run: (x, w) => T.conv2d(x, w, null, { stride: 2, padding: 1 }),
    atol: 3e-4,
  },
  {
    name: 'conv2d one image, 1×1 kernel',
    inputs: () => [r([1, 4, 3, 3], 117), r([2, 4, 1, 1], 118), r([2], 119)],
    run: (x, w, b) => T.conv2d(x, w, b),
  },
  {
    name: 'conv2dNhwc stride [2, 1], 3 channels',
    inputs: () => [r([2, 6, 5, 3], 120), r([4, 3, 3, 3], 121), r([4], 122)],
    run: (x, w, b) => T.conv2dNhwc(x, w, b, { stride: [2, 1], padding: 1 }),
    atol: 3e-4,
  },
  {
    name: 'conv2dNhwc 3×3 padding 1, 16 channels (block copies)',
    inputs: () => [r([2, 3, 4, 16], 123), r([5, 16, 3, 3], 124)],
    run: (x, w) => T.conv2dNhwc(x, w, null, { padding: 1 }),
    atol: 3e-4,
  },
  {
    name: 'avgPool2d',
    inputs: () => [r([1, 2, 5, 5], 86)],
    run: (x) => T.avgPool2d(x, 2, { stride: 2, padding: 1 }),
  },
  {
    name: 'maxPool2d',
    inputs: () => [r([1, 2, 6, 6], 87)],
    run: (x) => T.maxPool2d(x, 3, { stride: 2, padding: 1 }),
  },
  {
    name: 'globalAvgPool2d',
    inputs: () => [r([2, 3, 4, 5], 113)],
    run: (x) => [T.globalAvgPool2d(x), T.globalAvgPool2d(x, { keepDim: true })],
  },
  {
    name: 'globalMaxPool2d',
    inputs: () => [r([2, 3, 4, 5], 114)],
    run: (x) => [T.globalMaxPool2d(x), T.globalMaxPool2d(x, { keepDim: true })],
  },
  // ---- neural functions --------------------------------------------------------------------------
  { name: 'softmax', inputs: () => [r([3, 5], 88, 4)], run: (x) => [x.softmax(-1), x.softmax(0)] },
  { name: 'logSoftmax', inputs: () => [r([3, 5], 89, 4)], run: (x) => x.logSoftmax(1) },
  {
    name: 'layerNorm',
    inputs: () => [r([2, 3, 4], 90), r([4], 91), r([4], 92)],
    run: (x, w, b) => T.layerNorm(x, [4], w, b),
  },
  {
    name: 'batchNorm training (4-d, affine)',
    inputs: () => [r([3, 4, 2, 3], 101, 2), r([4], 102), r([4], 103)],
    run: (x, w, b) => T.batchNorm(x, null, null, w, b, { training: true }),
  },
  {
    name: 'batchNorm training (2-d, no affine)',
    inputs: () => [r([5, 3], 104, 3)],
    run: (x) => T.batchNorm(x, null, null, null, null, { training: true, eps: 1e-3 }),
  },
  {
    name: 'batchNorm running statistics',
    inputs: () => [r([4, 3, 5], 105, 2), r([2, 3, 5], 106)],
    run: (x1, x2) => {
      const [rm, rv] = [T.tensor([0.5, -1, 2]), T.tensor([1, 2, 0.5])];
      T.batchNorm(x1, rm, rv, null, null, { training: true, momentum: 0.3 });
      T.batchNorm(x2, rm, rv, null, null, { training: true, momentum: 0.3 });
      return [rm, rv];
    },
    backward: false,
  },
  {
    name: 'batchNorm evaluation',
    inputs: () => [r([2, 3, 4], 107, 2), r([3], 108), r([3], 109)],
    run: (x, w, b) => T.batchNorm(x, T.tensor([0.5, -1, 2]), T.tensor([1, 2, 0.5]), w, b),
  },
  {
    name: 'groupNorm',
    inputs: () => [r([2, 6, 2, 3], 110, 2), r([6], 111), r([6], 112)],
    run: (x, w, b) => T.groupNorm(x, 3, w, b),
  },
  { name: 'dropout (seeded)', inputs: () => [r([4, 5], 93)], run: (x) => T.dropout(x, 0.3, { seed: 7 }) },
  {
    name: 'crossEntropy (ignoreIndex, smoothing)',
    inputs: () => [r([4, 5], 94, 2)],
    run: (x) => [
      T.crossEntropy(x, ints([1, -100, 4, 0]), { labelSmoothing: 0.1 }),
      T.crossEntropy(x, ints([1, 2, 4, 0]), { reduction: 'none' }),
    ],
  },
  {
    name: 'crossEntropy probabilities',
    inputs: () => [r([3, 4], 95), r([3, 4], 96)],
    run: (x, t) => T.crossEntropy(x, t.softmax(-1)),
  },
  {
    name: 'binaryCrossEntropyWithLogits',
    inputs: () => [r([3, 4], 97, 3), T.rand([3, 4], { seed: 98 })],
    run: (x, t) => T.binaryCrossEntropyWithLogits(x, t, { posWeight: T.tensor([1, 2, 0.5, 3]) }),
  },
  { name: 'mseLoss', inputs: () => [r([3, 4], 99), r([3, 4], 100)], run: (a, b) => T.mseLoss(a, b) },
];
