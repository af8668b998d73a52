import { ENGINE, getBackend, scope } from '../engine.js';
import { ArgumentError, ShapeError } from '../errors/index.js';
import type { ConvGeometry } from '../kernel-names.js';
import { getKernel } from '../kernel-registry.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from '../validation.js';
import { linear, matmul } from './matmul.js';
import { max, mean } from './reduce.js';
import { permute, reshape } from './shape-ops.js';

type Pair = number | readonly [number, number];

const pair = (op: string, name: string, v: Pair): [number, number] => {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 0))
    throw new ArgumentError(op, `${name} must be non-negative integers, got ${v}`);
  return p;
};

/** Conv geometry of a rank-4 input whose height and width are at `hAxis` and `hAxis + 1`. */
function geometry(
  op: string,
  x: Tensor,
  kernel: Pair,
  stride: Pair,
  padding: Pair,
  hAxis = 2,
): ConvGeometry & { outH: number; outW: number } {
  if (x.rank !== 4)
    throw new ShapeError(
      op,
      `input must be ${hAxis === 2 ? '[N, C, H, W]' : '[N, H, W, C]'}, got ${formatShape(x.shape)}`,
    );
  const [kernelH, kernelW] = pair(op, 'kernel size', kernel);
  const [strideH, strideW] = pair(op, 'stride', stride);
  const [padH, padW] = pair(op, 'padding', padding);
  if (kernelH === 0 || kernelW === 0 || strideH === 0 || strideW === 0)
    throw new ArgumentError(op, 'kernel size and stride must be ≥ 1');
  const outH = Math.floor((x.shape[hAxis]! + 2 * padH - kernelH) / strideH) + 1;
  const outW = Math.floor((x.shape[hAxis + 1]! + 2 * padW - kernelW) / strideW) + 1;
  if (outH <= 0 || outW <= 0) {
    throw new ShapeError(
      op,
      `kernel ${kernelH}×${kernelW} does not fit input ${formatShape(x.shape)} with padding ${padH},${padW}`,
    );
  }
  return { kernelH, kernelW, strideH, strideW, padH, padW, outH, outW };
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
}

/**
 * 2-D convolution (cross-correlation, like PyTorch): `x [N, C, H, W]`, `weight [O, C, kh, kw]`,
 * `bias [O]` → `[N, O, OH, OW]`. Computed as im2col with every image's columns side by side
 * (`[C·kh·kw, N·OH·OW]`) and one matrix product for the whole batch; the output is then put back
 * in `[N, O, …]` order. The backward pass is then one GEMM for the weight gradient (summing over
 * the batch inside its inner dimension, no per-image products to add up) and one for the columns.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  assertTensor('conv2d', 'input', x);
  assertTensor('conv2d', 'weight', weight);
  if (weight.rank !== 4)
    throw new ShapeError('conv2d', `weight must be [O, C, kh, kw], got ${formatShape(weight.shape)}`);
  if (x.rank === 4 && weight.shape[1] !== x.shape[1]) {
    throw new ShapeError(
      'conv2d',
      `input ${formatShape(x.shape)} has ${x.shape[1]} channels but weight ${formatShape(weight.shape)} expects ${weight.shape[1]}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new ShapeError('conv2d', `bias ${formatShape(bias.shape)} must be [${weight.shape[0]}]`);
  }
  const g = geometry(
    'conv2d',
    x,
    [weight.shape[2]!, weight.shape[3]!],
    options.stride ?? 1,
    options.padding ?? 0,
  );
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  const o = weight.shape[0]!;
  const l = g.outH * g.outW;
  return scope(() => {
    const cols = ENGINE.runKernel('Im2Col', [x], { ...strip(g), padValue: 0, batchInColumns: true });
    let out = matmul(reshape(weight, [o, c * g.kernelH * g.kernelW]), cols); // [O, N·L]
    if (bias) out = out.add(reshape(bias, [o, 1]));
    const batchFirst = n === 1 ? out : permute(reshape(out, [o, n, l]), [1, 0, 2]);
    return reshape(batchFirst, [n, o, g.outH, g.outW]);
  });
}

/**
 * 2-D convolution over channels-last input (TF's `NHWC` data format): `x [N, H, W, C]`, `weight
 * [O, C, kh, kw]` (PyTorch's layout, so state dicts load unchanged), `bias [O]` → `[N, OH, OW, O]`.
 * Same values as `conv2d` on `x.permute(0, 3, 1, 2)`, permuted back. For features stored as cells
 * `[N, H·W, C]` (a feature map turned into a sequence, FiLM's blocks) it needs no transposes:
 * channels-last im2col (`[N·OH·OW, kh·kw·C]`, each tap a contiguous copy of C channels) and one GEMM
 * against the weight as `[O, kh·kw·C]`, whose output rows are already the output cells.
 *
 * ```ts
 * const cells = randn([8, 4 * 4, 32]); // [N, H·W, C]
 * const y = conv2dNhwc(cells.reshape(8, 4, 4, 32), randn([32, 32, 3, 3]), null, { padding: 1 }); // [8, 4, 4, 32]
 * ```
 */
export function conv2dNhwc(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: Conv2dOptions = {},
): Tensor {
  assertTensor('conv2dNhwc', 'input', x);
  assertTensor('conv2dNhwc', 'weight', weight);
  if (weight.rank !== 4)
    throw new ShapeError('conv2dNhwc', `weight must be [O, C, kh, kw], got ${formatShape(weight.shape)}`);
  if (x.rank === 4 && weight.shape[1] !== x.shape[3]) {
    throw new ShapeError(
      'conv2dNhwc',
      `input ${formatShape(x.shape)} has ${x.shape[3]} channels (last axis) but weight ${formatShape(weight.shape)} expects ${weight.shape[1]}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new ShapeError('conv2dNhwc', `bias ${formatShape(bias.shape)} must be [${weight.shape[0]}]`);
  }
  const g = geometry(
    'conv2dNhwc',
    x,
    [weight.shape[2]!, weight.shape[3]!],
    options.stride ?? 1,
    options.padding ?? 0,
    1,
  );
  const [n, c] = [x.shape[0]!, x.shape[3]!];
  const o = weight.shape[0]!;
  // Backends without the channels-last kernels (gpu.js) compose it from conv2d: no CPU round trip,
  // which an asynchronous backend (WebGPU) could not make anyway.
  if (!getKernel('Im2ColNhwc', getBackend()) || !getKernel('Col2ImNhwc', getBackend())) {
    return scope(() => permute(conv2d(permute(x, [0, 3, 1, 2]), weight, bias, options), [0, 2, 3, 1]));
  }
  return scope(() => {
    const cols = ENGINE.runKernel('Im2ColNhwc', [x], strip(g)); // [N·OH·OW, kh·kw·C]
    // Columns are ordered (ki, kj, c): the weight's taps, channel innermost.
    const w2 = reshape(permute(weight, [0, 2, 3, 1]), [o, g.kernelH * g.kernelW * c]);
    const out = linear(cols, w2, bias ?? null); // [N·OH·OW, O]
    return reshape(out, [n, g.outH, g.outW, o]);
  });
}

export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

function pool(op: 'avgPool2d' | 'maxPool2d', x: Tensor, kernelSize: Pair, options: Pool2dOptions): Tensor {
  assertTensor(op, 'input', x);
  const g = geometry(op, x, kernelSize, options.stride ?? kernelSize, options.padding ?? 0);
  if (2 * g.padH > g.kernelH || 2 * g.padW > g.kernelW) {
    throw new ArgumentError(op, `padding (${g.padH},${g.padW}) must be at most half the kernel size`);
  }
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  return scope(() => {
    // Max pooling pads with the lowest float, so a pad tap never wins; average counts pads as 0.
    const padValue = op === 'maxPool2d' ? -3.4028234663852886e38 : 0;
    const cols = ENGINE.runKernel('Im2Col', [x], { ...strip(g), padValue, batchInColumns: false });
    const windows = reshape(cols, [n, c, g.kernelH * g.kernelW, g.outH * g.outW]);
    const pooled = op === 'maxPool2d' ? max(windows, 2) : mean(windows, 2);
    return reshape(pooled, [n, c, g.outH, g.outW]);
  });
}

/** Average pooling (pads count as zeros, like PyTorch's default `count_include_pad`). */
export const avgPool2d = (x: Tensor, kernelSize: Pair, options: Pool2dOptions = {}): Tensor =>
  pool('avgPool2d', x, kernelSize, options);
/** Max pooling. */
export const maxPool2d = (x: Tensor, kernelSize: Pair, options: Pool2dOptions = {}): Tensor =>
  pool('maxPool2d', x, kernelSize, options);

function strip(g: ConvGeometry): ConvGeometry {
  const { kernelH, kernelW, strideH, strideW, padH, padW } = g;
  return { kernelH, kernelW, strideH, strideW, padH, padW };
}
