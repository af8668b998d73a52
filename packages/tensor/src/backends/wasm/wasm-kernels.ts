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

/** A float32 unary kernel in WebAssembly SIMD; other dtypes and oversized inputs go to the JS kernel. */
function wasmUnaryKernel(kernelName: string, op: WasmUnaryOp, backendName: string): KernelConfig {
  const js = CPU_KERNELS.find((k) => k.kernelName === kernelName)!;
  return {
    kernelName: kernelName as KernelConfig['kernelName'],
    backendName,
    kernelFunc: (args) => {
      const x = args.inputs[0]!;
      const backend = args.backend as WasmBackend;
      const values = backend.values(x.dataId);
      const out = values instanceof Float32Array && x.dtype === 'float32' ? backend.unary(op, values) : null;
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

/** Relu's backward as a SIMD mask (dy where x > 0): the JS loop's data-dependent branch mispredicts. */
function wasmReluGradKernel(backendName: string): KernelConfig {
  const js = CPU_KERNELS.find((k) => k.kernelName === 'ReluGrad')!;
  return {
    kernelName: 'ReluGrad',
    backendName,
    kernelFunc: (args) => {
      const [x, dy] = args.inputs as [TensorInfo, TensorInfo];
      const backend = args.backend as WasmBackend;
      const xs = backend.values(x.dataId);
      const gs = backend.values(dy.dataId);
      const out =
        xs instanceof Float32Array && gs instanceof Float32Array && xs.length === gs.length
          ? backend.binary('relu_grad', xs, x.shape, gs, dy.shape)
          : null;
      return out ? backend.output(out, x.shape, 'float32') : js.kernelFunc(args);
    },
  };
}

/** GELU (exact form) and its backward in WebAssembly SIMD; the tanh form and other dtypes run the JS kernels. */
function wasmGeluKernels(backendName: string): KernelConfig[] {
  const jsGelu = CPU_KERNELS.find((k) => k.kernelName === 'Gelu')!;
  const jsGeluGrad = CPU_KERNELS.find((k) => k.kernelName === 'GeluGrad')!;
  const exact = (attrs: unknown) => (attrs as { approximate: string }).approximate === 'none';
  return [
    {
      kernelName: 'Gelu',
      backendName,
      kernelFunc: (args) => {
        const x = args.inputs[0]!;
        const backend = args.backend as WasmBackend;
        const xs = backend.values(x.dataId);
        const out = xs instanceof Float32Array && exact(args.attrs) ? backend.unary('gelu', xs) : null;
        return out ? backend.output(out, x.shape, 'float32') : jsGelu.kernelFunc(args);
      },
    },
    {
      kernelName: 'GeluGrad',
      backendName,
      kernelFunc: (args) => {
        const [x, dy] = args.inputs as [TensorInfo, TensorInfo];
        const backend = args.backend as WasmBackend;
        const xs = backend.values(x.dataId);
        const gs = backend.values(dy.dataId);
        const out =
          xs instanceof Float32Array && gs instanceof Float32Array && exact(args.attrs)
            ? backend.binary('gelu_grad', xs, x.shape, gs, dy.shape)
            : null;
        return out ? backend.output(out, x.shape, 'float32') : jsGeluGrad.kernelFunc(args);
      },
    },
  ];
}

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
    wasmReluGradKernel(backendName),
    ...wasmGeluKernels(backendName),
    wasmAdamStepKernel(backendName),
  ];
  const replaced = new Set(overrides.map((k) => k.kernelName));
  return [
    ...CPU_KERNELS.filter((k) => !replaced.has(k.kernelName)).map((k) => ({ ...k, backendName })),
    ...overrides,
  ];
}
