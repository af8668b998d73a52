import type { TensorInfo } from '../../backend.js';
import type { AdamStepAttrs } from '../../kernel-names.js';
import type { KernelConfig } from '../../kernel-registry.js';
import { broadcastShapes } from '../../shape.js';
import { CPU_KERNELS } from '../cpu/kernels/index.js';
import { matmulKernel as cpuMatmulKernel } from '../cpu/kernels/matmul.js';
import type { WasmBinaryOp } from './binary.js';
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

/** A float32 broadcasting binary kernel in WebAssembly SIMD; the JS kernel runs what it declines. */
function wasmBinaryKernel(kernelName: string, op: WasmBinaryOp, backendName: string): KernelConfig {
  const js = CPU_KERNELS.find((k) => k.kernelName === kernelName)!;
  return {
    kernelName: kernelName as KernelConfig['kernelName'],
    backendName,
    kernelFunc: (args) => {
      const [a, b] = args.inputs as [TensorInfo, TensorInfo];
      const backend = args.backend as WasmBackend;
      const av = backend.values(a.dataId);
      const bv = backend.values(b.dataId);
      const out =
        av instanceof Float32Array &&
        bv instanceof Float32Array &&
        a.dtype === 'float32' &&
        b.dtype === 'float32'
          ? backend.binary(op, av, a.shape, bv, b.shape)
          : null;
      if (!out) return js.kernelFunc(args);
      return backend.output(out, broadcastShapes(kernelName, a.shape, b.shape), 'float32');
    },
  };
}

/** Whether the SIMD version computes a call with these attributes (else the JS kernel does). */
type AttrsTest = (attrs: unknown) => boolean;
const anyAttrs: AttrsTest = () => true;

/** A float32 unary kernel in WebAssembly SIMD; other dtypes, oversized inputs and attrs it declines go to the JS kernel. */
function wasmUnaryKernel(
  kernelName: string,
  op: WasmUnaryOp,
  backendName: string,
  accepts: AttrsTest = anyAttrs,
): KernelConfig {
  const js = CPU_KERNELS.find((k) => k.kernelName === kernelName)!;
  return {
    kernelName: kernelName as KernelConfig['kernelName'],
    backendName,
    kernelFunc: (args) => {
      const x = args.inputs[0]!;
      const backend = args.backend as WasmBackend;
      const values = backend.values(x.dataId);
      const out =
        values instanceof Float32Array && x.dtype === 'float32' && accepts(args.attrs)
          ? backend.unary(op, values)
          : null;
      return out ? backend.output(out, x.shape, 'float32') : js.kernelFunc(args);
    },
  };
}

/** BatchMatMul in WebAssembly SIMD; falls back to the JS kernel for problems beyond wasm memory. */
function wasmMatmulKernel(backendName: string): KernelConfig<'BatchMatMul'> {
  return {
    kernelName: 'BatchMatMul',
    backendName,
    kernelFunc: (args) => {
      const { inputs, attrs } = args;
      const backend = args.backend as WasmBackend;
      const [a, b] = inputs as [(typeof inputs)[number], (typeof inputs)[number]];
      const [batchA, a1, a2] = a.shape as [number, number, number];
      const [batchB, b1, b2] = b.shape as [number, number, number];
      const [m, k] = attrs.transposeA ? [a2, a1] : [a1, a2];
      const n = attrs.transposeB ? b1 : b2;
      const batch = Math.max(batchA, batchB);
      const out = backend.matmul(backend.values(a.dataId), backend.values(b.dataId), {
        batchA,
        batchB,
        batch,
        m,
        k,
        n,
        transposeA: attrs.transposeA,
        transposeB: attrs.transposeB,
      });
      if (!out) return cpuMatmulKernel.kernelFunc(args);
      return backend.output(out, [batch, m, n], 'float32');
    },
  };
}

/**
 * A fused backward kernel `(x, dy) → dx` of same-shape float32 operands in WebAssembly SIMD:
 * ReluGrad (a mask: the JS loop's data-dependent branch mispredicts) and GeluGrad (compute-bound).
 */
function wasmBackwardKernel(
  kernelName: 'ReluGrad' | 'GeluGrad',
  op: 'relu_grad' | 'gelu_grad',
  backendName: string,
  accepts: AttrsTest = anyAttrs,
): KernelConfig {
  const js = CPU_KERNELS.find((k) => k.kernelName === kernelName)!;
  return {
    kernelName,
    backendName,
    kernelFunc: (args) => {
      const [x, dy] = args.inputs as [TensorInfo, TensorInfo];
      const backend = args.backend as WasmBackend;
      const xs = backend.values(x.dataId);
      const gs = backend.values(dy.dataId);
      const out =
        xs instanceof Float32Array &&
        gs instanceof Float32Array &&
        xs.length === gs.length &&
        accepts(args.attrs)
          ? backend.binary(op, xs, x.shape, gs, dy.shape)
          : null;
      return out ? backend.output(out, x.shape, 'float32') : js.kernelFunc(args);
    },
  };
}

/** GELU's exact form has a SIMD kernel; the tanh form runs the JS one. */
const exactGelu: AttrsTest = (attrs) => (attrs as { approximate: string }).approximate === 'none';

/** The fused Adam/AdamW update in WebAssembly SIMD (bit-identical to the JS kernel); AMSGrad runs the JS one. */
function wasmAdamStepKernel(backendName: string): KernelConfig {
  const js = CPU_KERNELS.find((k) => k.kernelName === 'AdamStep')!;
  return {
    kernelName: 'AdamStep',
    backendName,
    kernelFunc: (args) => {
      const backend = args.backend as WasmBackend;
      const attrs = args.attrs as unknown as AdamStepAttrs;
      const values = args.inputs.map((t) => backend.values(t.dataId));
      const out =
        !attrs.amsgrad && values.length === 4 && values.every((x) => x instanceof Float32Array)
          ? backend.adamStep(values as Float32Array[], attrs)
          : null;
      return out ? backend.output(out, [3, ...args.inputs[0]!.shape], 'float32') : js.kernelFunc(args);
    },
  };
}

/** Fused last-axis softmax and layerNorm in WebAssembly SIMD (rows over the pool). */
function wasmRowKernels(backendName: string): KernelConfig[] {
  const jsSoftmax = CPU_KERNELS.find((k) => k.kernelName === 'SoftmaxLastAxis')!;
  const jsLayerNorm = CPU_KERNELS.find((k) => k.kernelName === 'LayerNormLastAxis')!;
  return [
    {
      kernelName: 'SoftmaxLastAxis',
      backendName,
      kernelFunc: (args) => {
        const x = args.inputs[0]!;
        const backend = args.backend as WasmBackend;
        const xs = backend.values(x.dataId);
        const out = xs instanceof Float32Array ? backend.rows('softmax', xs, x.shape.at(-1) ?? 1) : null;
        return out ? backend.output(out, x.shape, 'float32') : jsSoftmax.kernelFunc(args);
      },
    },
    {
      kernelName: 'LayerNormLastAxis',
      backendName,
      kernelFunc: (args) => {
        const [x, w, b] = args.inputs as [TensorInfo, TensorInfo, TensorInfo];
        const backend = args.backend as WasmBackend;
        const [xs, weight, bias] = [x, w, b].map((t) => backend.values(t.dataId));
        const { eps } = args.attrs as { eps: number };
        const out =
          xs instanceof Float32Array && weight instanceof Float32Array && bias instanceof Float32Array
            ? backend.rows('layernorm', xs, x.shape.at(-1) ?? 1, { weight, bias, eps })
            : null;
        return out ? backend.output(out, x.shape, 'float32') : jsLayerNorm.kernelFunc(args);
      },
    },
  ];
}

/**
 * Every kernel of the `wasm` backend registered as `backendName`: the cpu kernels (same storage),
 * with the WebAssembly ones replacing their JS counterparts.
 */
export function wasmKernelConfigs(backendName: string): KernelConfig[] {
  const overrides: KernelConfig[] = [
    wasmMatmulKernel(backendName) as unknown as KernelConfig,
    ...UNARY.map(([kernel, op]) => wasmUnaryKernel(kernel, op, backendName)),
    ...BINARY.map(([kernel, op]) => wasmBinaryKernel(kernel, op, backendName)),
    ...wasmRowKernels(backendName),
    wasmUnaryKernel('Gelu', 'gelu', backendName, exactGelu),
    wasmBackwardKernel('ReluGrad', 'relu_grad', backendName),
    wasmBackwardKernel('GeluGrad', 'gelu_grad', backendName, exactGelu),
    wasmAdamStepKernel(backendName),
  ];
  const replaced = new Set(overrides.map((k) => k.kernelName));
  return [
    ...CPU_KERNELS.filter((k) => !replaced.has(k.kernelName)).map((k) => ({ ...k, backendName })),
    ...overrides,
  ];
}
