import type { TensorInfo } from '../../backend.js';
import type { KernelConfig } from '../../kernel-registry.js';
import { broadcastShapes, broadcastStrides, contiguousStrides } from '../../shape.js';
import { tapOffsets } from '../cpu/kernels/conv-nhwc.js';
import { CPU_KERNELS } from '../cpu/kernels/index.js';
import { reductionLayout } from '../cpu/kernels/reduce.js';
import { wasmBatchNormKernels } from './batch-norm.js';
import type { WasmBinaryOp } from './binary.js';
import { MIN_STRIDED_FLOATS, permutedStrides, stridedRuns } from './strided.js';
import type { WasmUnaryOp } from './unary.js';
import type { WasmBackend } from './wasm-backend.js';

/** Kernels with a WebAssembly version, and the module export that computes them. */
const UNARY: [kernel: 'Exp' | 'Sigmoid' | 'Tanh' | 'Relu', op: WasmUnaryOp][] = [
  ['Exp', 'exp'],
  ['Sigmoid', 'sigmoid'],
  ['Tanh', 'tanh'],
  ['Relu', 'relu'],
];

const BINARY: [kernel: 'Add' | 'Sub' | 'Mul', op: WasmBinaryOp][] = [
  ['Add', 'add'],
  ['Sub', 'sub'],
  ['Mul', 'mul'],
];

// Each kernel below computes what its SIMD driver takes and declines the rest by returning null
// (other dtypes, attributes it has no SIMD form for, problems beyond wasm memory): the engine then
// runs the cpu kernel on the same storage (`WasmBackend.kernelFallback`; the chain is on
// `KernelConfig`).

/** Whether the SIMD version computes a call with these attributes (else it declines). */
type AttrsTest = (attrs: unknown) => boolean;
const anyAttrs: AttrsTest = () => true;

/**
 * A float32 elementwise kernel in WebAssembly SIMD: declines unless every input is float32 and
 * `accepts` its attributes; `run` gets the inputs' values and may decline too (null).
 */
function wasmFloatKernel(
  kernelName: KernelConfig['kernelName'],
  backendName: string,
  accepts: AttrsTest,
  run: (backend: WasmBackend, values: Float32Array[], inputs: readonly TensorInfo[]) => TensorInfo | null,
): KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: (args) => {
      const backend = args.backend as WasmBackend;
      const values = args.inputs.map((t) => backend.values(t.dataId));
      const float32 = args.inputs.every((t, i) => t.dtype === 'float32' && values[i] instanceof Float32Array);
      return float32 && accepts(args.attrs) ? run(backend, values as Float32Array[], args.inputs) : null;
    },
  };
}

/** A float32 unary kernel in WebAssembly SIMD. */
function wasmUnaryKernel(
  kernelName: KernelConfig['kernelName'],
  op: WasmUnaryOp,
  backendName: string,
  accepts: AttrsTest = anyAttrs,
): KernelConfig {
  return wasmFloatKernel(kernelName, backendName, accepts, (backend, [xs], [x]) => {
    const out = backend.unary(op, xs!);
    return out && backend.output(out, x!.shape, 'float32');
  });
}

/** BatchMatMul in WebAssembly SIMD. */
function wasmMatmulKernel(backendName: string): KernelConfig<'BatchMatMul'> {
  return {
    kernelName: 'BatchMatMul',
    backendName,
    kernelFunc: ({ inputs, attrs, backend: b }) => {
      const backend = b as WasmBackend;
      const [a, bt] = inputs as [TensorInfo, TensorInfo];
      const [batchA, a1, a2] = a.shape as [number, number, number];
      const [batchB, b1, b2] = bt.shape as [number, number, number];
      const [m, k] = attrs.transposeA ? [a2, a1] : [a1, a2];
      const n = attrs.transposeB ? b1 : b2;
      const batch = Math.max(batchA, batchB);
      const out = backend.matmul(backend.values(a.dataId), backend.values(bt.dataId), {
        batchA,
        batchB,
        batch,
        m,
        k,
        n,
        transposeA: attrs.transposeA,
        transposeB: attrs.transposeB,
      });
      return out && backend.output(out, [batch, m, n], 'float32');
    },
  };
}

/**
 * A float32 two-operand kernel in WebAssembly SIMD: Add, Sub and Mul with broadcasting, and the
 * fused backward kernels `(x, dy) → dx`, ReluGrad (a mask: the JS loop's data-dependent branch
 * mispredicts) and GeluGrad (compute-bound).
 */
function wasmBinaryKernel(
  kernelName: 'Add' | 'Sub' | 'Mul' | 'ReluGrad' | 'GeluGrad',
  op: WasmBinaryOp,
  backendName: string,
  accepts: AttrsTest = anyAttrs,
): KernelConfig {
  return wasmFloatKernel(kernelName, backendName, accepts, (backend, [av, bv], [a, b]) => {
    const out = backend.binary(op, av!, a!.shape, bv!, b!.shape);
    return out && backend.output(out, broadcastShapes(kernelName, a!.shape, b!.shape), 'float32');
  });
}

/** GELU's exact form has a SIMD kernel; the tanh form is declined. */
const exactGelu: AttrsTest = (attrs) => (attrs as { approximate: string }).approximate === 'none';

/** The fused Adam/AdamW update in WebAssembly SIMD (bit-identical to the JS kernel); AMSGrad is declined. */
function wasmAdamStepKernel(backendName: string): KernelConfig<'AdamStep'> {
  return {
    kernelName: 'AdamStep',
    backendName,
    kernelFunc: ({ inputs, attrs, backend: b }) => {
      const backend = b as WasmBackend;
      const values = inputs.map((t) => backend.values(t.dataId));
      if (attrs.amsgrad || values.length !== 4 || !values.every((x) => x instanceof Float32Array))
        return null;
      const out = backend.adamStep(values as Float32Array[], attrs);
      return out && backend.output(out, [3, ...inputs[0]!.shape], 'float32');
    },
  };
}

/**
 * Channels-last im2col and its adjoint in WebAssembly SIMD over the pool (see taps.ts); C not a
 * multiple of 4 is declined.
 */
function wasmTapsKernels(backendName: string): KernelConfig[] {
  const gather: KernelConfig<'Im2ColNhwc'> = {
    kernelName: 'Im2ColNhwc',
    backendName,
    kernelFunc: ({ inputs: [x], attrs: g, backend: b }) => {
      const backend = b as WasmBackend;
      const xs = backend.values(x!.dataId);
      const [n, h, w, c] = x!.shape as [number, number, number, number];
      if (!(xs instanceof Float32Array) || c % 4 !== 0) return null;
      const offsets = tapOffsets(n, h, w, c, g);
      const out = backend.taps('gather', xs, { offsets, channels: c, images: n, imageFloats: h * w * c });
      return (
        out &&
        backend.output(out, [offsets.length / (g.kernelH * g.kernelW), g.kernelH * g.kernelW * c], 'float32')
      );
    },
  };
  const scatter: KernelConfig<'Col2ImNhwc'> = {
    kernelName: 'Col2ImNhwc',
    backendName,
    kernelFunc: ({ inputs: [cols], attrs: g, backend: b }) => {
      const backend = b as WasmBackend;
      const cs = backend.values(cols!.dataId);
      const { batch: n, height: h, width: w, channels: c } = g;
      if (!(cs instanceof Float32Array) || c % 4 !== 0) return null;
      const offsets = tapOffsets(n, h, w, c, g);
      const out = backend.taps('scatter', cs, { offsets, channels: c, images: n, imageFloats: h * w * c });
      return out && backend.output(out, [n, h, w, c], 'float32');
    },
  };
  return [gather, scatter] as unknown as KernelConfig[];
}

/**
 * Transpose, Slice and BroadcastTo whose output is made of contiguous source runs of a multiple of 4
 * floats (an attention head transpose keeps the last axis: runs of the head's width): the runs'
 * source offsets go in a table and the channels-last im2col gather copies them in f32x4 over the
 * pool. Anything else (runs of single elements, small copies, other dtypes) goes to the JS kernel.
 */
function wasmStridedKernels(backendName: string): KernelConfig[] {
  const gatherRuns = (
    backend: WasmBackend,
    x: TensorInfo,
    shape: readonly number[],
    strides: readonly number[],
    offset: number,
  ): TensorInfo | null => {
    const xs = backend.values(x.dataId);
    if (x.dtype !== 'float32' || !(xs instanceof Float32Array)) return null;
    const runs = stridedRuns(shape, strides, offset);
    if (!runs) return null;
    const { offsets, run } = runs;
    const out = backend.taps('gather', xs, { offsets, channels: run, images: 1, imageFloats: xs.length });
    return out && backend.output(out, [...shape], 'float32');
  };
  const transpose: KernelConfig<'Transpose'> = {
    kernelName: 'Transpose',
    backendName,
    kernelFunc: ({ inputs: [x], attrs: { perm }, backend }) =>
      gatherRuns(
        backend as WasmBackend,
        x!,
        perm.map((p) => x!.shape[p]!),
        permutedStrides(x!.shape, perm),
        0,
      ),
  };
  const slice: KernelConfig<'Slice'> = {
    kernelName: 'Slice',
    backendName,
    kernelFunc: ({ inputs: [x], attrs: { begin, size, step }, backend }) => {
      const strides = contiguousStrides(x!.shape);
      const offset = begin.reduce((s, b, i) => s + b * strides[i]!, 0);
      return gatherRuns(
        backend as WasmBackend,
        x!,
        size,
        strides.map((s, i) => s * step[i]!),
        offset,
      );
    },
  };
  const broadcast: KernelConfig<'BroadcastTo'> = {
    kernelName: 'BroadcastTo',
    backendName,
    kernelFunc: ({ inputs: [x], attrs: { shape }, backend }) =>
      gatherRuns(backend as WasmBackend, x!, shape, broadcastStrides(x!.shape, shape), 0),
  };
  return [transpose, slice, broadcast] as unknown as KernelConfig[];
}

/** Sum over leading or middle axes with float32 columns left (bias gradients): column sums in f64x2 lanes, bit-identical to JS. */
function wasmSumKernel(backendName: string): KernelConfig<'Sum'> {
  return {
    kernelName: 'Sum',
    backendName,
    kernelFunc: ({ inputs: [x], attrs: { axes }, backend: b }) => {
      const backend = b as WasmBackend;
      const xs = backend.values(x!.dataId);
      const [outer, rows, inner] = reductionLayout(x!.shape, axes);
      // small sums (a loss, a few columns) stay with the JS kernel: the call would cost more
      if (
        x!.dtype !== 'float32' ||
        !(xs instanceof Float32Array) ||
        inner < 4 ||
        xs.length < MIN_STRIDED_FLOATS
      )
        return null;
      const out = backend.columnSum(xs, outer, rows, inner);
      return (
        out &&
        backend.output(
          out,
          x!.shape.filter((_, i) => !axes.includes(i)),
          'float32',
        )
      );
    },
  };
}

/** Fused last-axis softmax and layerNorm in WebAssembly SIMD (rows over the pool). */
function wasmRowKernels(backendName: string): KernelConfig[] {
  const softmax: KernelConfig<'SoftmaxLastAxis'> = {
    kernelName: 'SoftmaxLastAxis',
    backendName,
    kernelFunc: ({ inputs: [x], backend: b }) => {
      const backend = b as WasmBackend;
      const xs = backend.values(x!.dataId);
      if (!(xs instanceof Float32Array)) return null;
      const out = backend.rows('softmax', xs, x!.shape.at(-1) ?? 1);
      return out && backend.output(out, x!.shape, 'float32');
    },
  };
  const layerNorm: KernelConfig<'LayerNormLastAxis'> = {
    kernelName: 'LayerNormLastAxis',
    backendName,
    kernelFunc: ({ inputs, attrs: { eps }, backend: b }) => {
      const backend = b as WasmBackend;
      const [x, w, bias] = inputs as [TensorInfo, TensorInfo, TensorInfo];
      const [xs, weight, bs] = [x, w, bias].map((t) => backend.values(t.dataId));
      if (!(xs instanceof Float32Array && weight instanceof Float32Array && bs instanceof Float32Array))
        return null;
      const out = backend.rows('layernorm', xs, x.shape.at(-1) ?? 1, { weight, bias: bs, eps });
      return out && backend.output(out, x.shape, 'float32');
    },
  };
  const layerNormGrad: KernelConfig<'LayerNormLastAxisGrad'> = {
    kernelName: 'LayerNormLastAxisGrad',
    backendName,
    kernelFunc: ({ inputs, attrs: { eps }, backend: b }) => {
      const backend = b as WasmBackend;
      const [x, w, dy] = inputs as [TensorInfo, TensorInfo, TensorInfo];
      const [xs, ws, gs] = [x, w, dy].map((t) => backend.values(t.dataId));
      if (!(xs instanceof Float32Array && ws instanceof Float32Array && gs instanceof Float32Array))
        return null;
      const out = backend.layerNormGrad(xs, ws, gs, x.shape.at(-1) ?? 1, eps);
      return out && backend.output(out, x.shape, 'float32');
    },
  };
  const layerNormParamGrad: KernelConfig<'LayerNormLastAxisParamGrad'> = {
    kernelName: 'LayerNormLastAxisParamGrad',
    backendName,
    kernelFunc: ({ inputs, attrs: { eps }, backend: b }) => {
      const backend = b as WasmBackend;
      const [x, dy] = inputs as [TensorInfo, TensorInfo];
      const [xs, gs] = [x, dy].map((t) => backend.values(t.dataId));
      if (!(xs instanceof Float32Array && gs instanceof Float32Array)) return null;
      const d = x.shape.at(-1) ?? 1;
      const out = backend.layerNormParamGrad(xs, gs, d, eps);
      return out && backend.output(out, [2, d], 'float32');
    },
  };
  return [softmax, layerNorm, layerNormGrad, layerNormParamGrad] as unknown as KernelConfig[];
}

/** Fused dropout: the mask drawn in WebAssembly as it is applied, chunks over the pool (see dropout.ts). */
function wasmDropoutKernel(backendName: string): KernelConfig<'Dropout'> {
  return {
    kernelName: 'Dropout',
    backendName,
    kernelFunc: ({ inputs: [x], attrs: { p, stateHi, stateLo }, backend: b }) => {
      const backend = b as WasmBackend;
      const xs = backend.values(x!.dataId);
      if (x!.dtype !== 'float32' || !(xs instanceof Float32Array)) return null;
      // keep where bits / 2^24 ≥ p, i.e. bits ≥ ⌈p · 2^24⌉ (p · 2^24 is exact in float64)
      const threshold = Math.ceil(p * 2 ** 24);
      const out = backend.dropout(xs, { threshold, scale: Math.fround(1 / (1 - p)), stateHi, stateLo });
      return out && backend.output(out, x!.shape, 'float32');
    },
  };
}

/**
 * Every kernel of the `wasm` backend registered as `backendName`: the cpu kernels (same storage),
 * with the WebAssembly ones replacing their JS counterparts. The cpu kernels stay registered under
 * the wasm name too, so an op without a SIMD kernel costs one registry lookup, like any other.
 */
export function wasmKernelConfigs(backendName: string): KernelConfig[] {
  const overrides: KernelConfig[] = [
    wasmMatmulKernel(backendName) as unknown as KernelConfig,
    ...UNARY.map(([kernel, op]) => wasmUnaryKernel(kernel, op, backendName)),
    ...BINARY.map(([kernel, op]) => wasmBinaryKernel(kernel, op, backendName)),
    ...wasmRowKernels(backendName),
    ...wasmTapsKernels(backendName),
    ...wasmStridedKernels(backendName),
    wasmSumKernel(backendName) as unknown as KernelConfig,
    ...wasmBatchNormKernels(backendName),
    wasmUnaryKernel('Gelu', 'gelu', backendName, exactGelu),
    wasmBinaryKernel('ReluGrad', 'relu_grad', backendName),
    wasmBinaryKernel('GeluGrad', 'gelu_grad', backendName, exactGelu),
    wasmAdamStepKernel(backendName) as unknown as KernelConfig,
    wasmDropoutKernel(backendName) as unknown as KernelConfig,
  ];
  const replaced = new Set(overrides.map((k) => k.kernelName));
  return [
    ...CPU_KERNELS.filter((k) => !replaced.has(k.kernelName)).map((k) => ({ ...k, backendName })),
    ...overrides,
  ];
}
