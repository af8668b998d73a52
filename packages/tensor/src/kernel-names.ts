/**
 * Every primitive kernel a backend implements, with its attributes. Everything else (softmax,
 * layerNorm, attention, losses) is composed from these in `ops/`, so a new backend that implements
 * this list runs the whole library forward and backward.
 */
import type { DType } from './dtype.js';

/** Hyper-parameters of the fused `AdamStep` kernel (documented on `adamStep` in ops/adam-step.ts). */
export interface AdamStepAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupledWeightDecay: boolean;
  step: number;
  amsgrad: boolean;
  maximize: boolean;
}

/** Float → float elementwise kernels. */
export const UNARY_KERNELS = [
  'Neg',
  'Exp',
  'Log',
  'Sqrt',
  'Rsqrt',
  'Abs',
  'Sign',
  'Tanh',
  'Sigmoid',
  'Relu',
  'Erf',
  'Sin',
  'Cos',
  'Floor',
  'Ceil',
  'Round',
  'Reciprocal',
  'Square',
] as const;
export type UnaryKernel = (typeof UNARY_KERNELS)[number];

/** Broadcasting binary kernels whose output dtype is the (promoted) input dtype. */
export const ARITHMETIC_KERNELS = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Maximum', 'Minimum'] as const;
export type ArithmeticKernel = (typeof ARITHMETIC_KERNELS)[number];

/** Broadcasting binary kernels whose output is bool. */
export const COMPARISON_KERNELS = [
  'Equal',
  'NotEqual',
  'Less',
  'LessEqual',
  'Greater',
  'GreaterEqual',
  'LogicalAnd',
  'LogicalOr',
] as const;
export type ComparisonKernel = (typeof COMPARISON_KERNELS)[number];

export const REDUCE_KERNELS = ['Sum', 'Max', 'Min', 'Prod'] as const;
export type ReduceKernel = (typeof REDUCE_KERNELS)[number];

export const ARG_REDUCE_KERNELS = ['ArgMax', 'ArgMin'] as const;
export type ArgReduceKernel = (typeof ARG_REDUCE_KERNELS)[number];

export interface ConvGeometry {
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

export interface KernelAttrs
  extends Record<UnaryKernel | ArithmeticKernel | ComparisonKernel, Record<string, never>> {
  LogicalNot: Record<string, never>;
  Where: Record<string, never>;
  Cast: { dtype: DType };
  /** Reduces a contiguous block of axes `axes` (sorted); the output drops them. */
  Sum: { axes: number[] };
  Max: { axes: number[] };
  Min: { axes: number[] };
  Prod: { axes: number[] };
  ArgMax: { axis: number };
  ArgMin: { axis: number };
  /** `[B,M,K] × [B,K,N] → [B,M,N]`; either batch may be 1 (broadcast). Transposes read in place. */
  BatchMatMul: { transposeA: boolean; transposeB: boolean };
  Transpose: { perm: number[] };
  BroadcastTo: { shape: number[] };
  /** Strided window: `size[d]` elements from `begin[d]`, every `step[d]`. */
  Slice: { begin: number[]; size: number[]; step: number[] };
  Concat: { axis: number };
  Pad: { pads: [number, number][]; value: number };
  /** `indexSelect`: picks entries of a 1-D int32 index along `axis`. */
  Gather: { axis: number };
  /** Adjoint of Gather: out = x, then out[.., index[k], ..] += src[.., k, ..]. */
  IndexAdd: { axis: number };
  /** `torch.gather`: out[i][j] = x[i][index[i][j]] (for axis 1). */
  GatherElements: { axis: number };
  /** `torch.scatter_add`: out = x, then out[i][index[i][j]] += src[i][j] (for axis 1). */
  ScatterAdd: { axis: number };
  /**
   * `[N,C,H,W] → [N, C·kh·kw, OH·OW]`, out-of-image taps read `padValue`. With `batchInColumns`,
   * `[C·kh·kw, N·OH·OW]`: every image's columns side by side, so a convolution over the whole batch
   * is one GEMM (`[O, C·kh·kw] × [C·kh·kw, N·OH·OW]`) and its weight gradient another.
   */
  Im2Col: ConvGeometry & { padValue: number; batchInColumns: boolean };
  /**
   * Optional fused kernels: ops use them where the current backend registers them and compose
   * the same result from primitives elsewhere. Both work over the last axis.
   */
  SoftmaxLastAxis: Record<string, never>;
  /** `(x − mean) / √(var + eps) · weight + bias` over the last axis; inputs x, weight, bias. */
  LayerNormLastAxis: { eps: number };
  /** GELU (`x·Φ(x)`, or the tanh approximation); input x. */
  Gelu: { approximate: 'none' | 'tanh' };
  /** Backward of Gelu: inputs x and dy; output dx. */
  GeluGrad: { approximate: 'none' | 'tanh' };
  /**
   * Inverted dropout (optional, fused): input x (float32); output `x · mask`, mask i = 1/(1−p) where
   * the i-th uniform draw of the PCG stream at state (stateHi, stateLo) is ≥ p, else 0 (the numbers
   * `Generator.fillUniform` gives from that state). No mask is stored: the same kernel on dy with the
   * same attributes is the gradient.
   */
  Dropout: { p: number; stateHi: number; stateLo: number };
  /** Backward of Relu: inputs x and dy; output dy where x > 0, else 0. */
  ReluGrad: Record<string, never>;
  /** Backward of SoftmaxLastAxis: inputs y (its output) and dy; output dx. */
  SoftmaxLastAxisGrad: Record<string, never>;
  /** Backward of LayerNormLastAxis for x: inputs x, weight, dy; output dx. */
  LayerNormLastAxisGrad: { eps: number };
  /** Backward of LayerNormLastAxis for weight and bias: inputs x, dy; output [2, d] (dWeight; dBias). */
  LayerNormLastAxisParamGrad: { eps: number };
  /**
   * Fused optimizer update (optional, like the two above): inputs param, grad, expAvg, expAvgSq
   * [, maxExpAvgSq]; output the new values stacked on a leading axis (see ops/adam-step.ts).
   */
  AdamStep: AdamStepAttrs;
  /**
   * Batch normalization's statistics (optional, fused): input x `[N, C, L]`; output `[2, C]`, the
   * mean and the biased variance of each channel over N·L. Not differentiable (no gradient entry):
   * the gradient of `BatchNormTrain` already accounts for the statistics' dependence on x.
   */
  BatchNormStats: Record<string, never>;
  /**
   * Batch normalization with batch statistics (optional, fused): inputs x `[N, C, L]`, weight `[C]`,
   * bias `[C]` and stats `[2, C]` (= `BatchNormStats(x)`, passed in so neither direction recomputes
   * them); output `(x − mean) / √(var + eps) · weight + bias`. Its gradient for x is the full one,
   * through the statistics.
   */
  BatchNormTrain: { eps: number };
  /** Backward of BatchNormTrain for weight and bias: inputs x, dy, stats; output `[2, C]` (Σ dy·x̂; Σ dy). */
  BatchNormParamGrad: { eps: number };
  /**
   * Backward of BatchNormTrain for x: inputs x, weight, dy, stats and the `BatchNormParamGrad`
   * sums; output `dx = w·rstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)`, M = N·L.
   */
  BatchNormGrad: { eps: number };
  /** Adjoint of Im2Col: sums columns (in either layout) back into `[N,C,H,W]`. */
  Col2Im: ConvGeometry & { channels: number; height: number; width: number; batchInColumns: boolean };
  /**
   * Channels-last im2col: `[N,H,W,C] → [N·OH·OW, kh·kw·C]`, one row per output position holding its
   * taps' channel vectors side by side (out-of-image taps read 0). A convolution over cells stored as
   * `[N, H·W, C]` is then one GEMM against the weight as `[O, kh·kw·C]`, with no transposes, and each
   * tap copies C contiguous values.
   */
  Im2ColNhwc: ConvGeometry;
  /** Adjoint of Im2ColNhwc: sums the rows' taps back into `[N,H,W,C]`. */
  Col2ImNhwc: ConvGeometry & { batch: number; height: number; width: number; channels: number };
}

export type KernelName = keyof KernelAttrs;
