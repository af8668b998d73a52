import type { TypedArray } from '../../../dtype.js';
import { ARITHMETIC_KERNELS, COMPARISON_KERNELS, UNARY_KERNELS } from '../../../kernel-names.js';
import type { KernelConfig } from '../../../kernel-registry.js';
import { BINARY_FNS, UNARY_FNS } from '../../../scalar-math.js';
import { broadcastShapes, broadcastStrides, sizeOf } from '../../../shape.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';
import { forEachBroadcastRun, forEachBroadcastRun3 } from './strided.js';

const cpu = (b: unknown) => b as CpuBackend;

const unaryKernels: KernelConfig[] = UNARY_KERNELS.map((kernelName) => ({
  kernelName,
  backendName: 'cpu',
  kernelFunc: ({ inputs: [x], backend }) => {
    const xs = cpu(backend).values(x!.dataId);
    const out = cpu(backend).uninitializedFloat32(xs.length);
    const f = UNARY_FNS[kernelName];
    for (let i = 0; i < xs.length; i++) out[i] = f(xs[i]!);
    return cpu(backend).output(out, x!.shape, 'float32');
  },
}));

/** `out[i] = a[i] op b[i]`, with the hot ops written out so that no call per element remains. */
function sameShapeLoop(
  kernelName: string,
  a: TypedArray,
  b: TypedArray,
  out: Float32Array,
  f: (x: number, y: number) => number,
): void {
  const n = out.length;
  if (kernelName === 'Add') for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
  else if (kernelName === 'Sub') for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
  else if (kernelName === 'Mul') for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
  else if (kernelName === 'Div') for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
  else for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[i]!);
}

const binaryKernels: KernelConfig[] = [...ARITHMETIC_KERNELS, ...COMPARISON_KERNELS].map((kernelName) => ({
  kernelName,
  backendName: 'cpu',
  kernelFunc: ({ inputs: [a, b], backend }) => {
    const shape = broadcastShapes(kernelName, a!.shape, b!.shape);
    const isComparison = (COMPARISON_KERNELS as readonly string[]).includes(kernelName);
    const dtype = isComparison ? 'bool' : a!.dtype;
    const av = cpu(backend).values(a!.dataId);
    const bv = cpu(backend).values(b!.dataId);
    const size = sizeOf(shape);
    const f = BINARY_FNS[kernelName];
    if (dtype === 'float32' && av.length === size && bv.length === size) {
      // Same shapes (the common case in training): one flat loop per op into a recycled buffer.
      const o = cpu(backend).uninitializedFloat32(size);
      sameShapeLoop(kernelName, av, bv, o, f);
      return cpu(backend).output(o, shape, dtype);
    }
    const out = cpu(backend).uninitializedOutput(dtype, size);
    const aStr = broadcastStrides(a!.shape, shape);
    const bStr = broadcastStrides(b!.shape, shape);
    if (kernelName === 'Add' || kernelName === 'Mul' || kernelName === 'Sub') {
      // The hot three get loops without a call per element.
      forEachBroadcastRun(shape, aStr, bStr, (ai, bi, o, n, as, bs) => {
        if (kernelName === 'Add')
          for (let j = 0; j < n; j++, ai += as, bi += bs) out[o + j] = av[ai]! + bv[bi]!;
        else if (kernelName === 'Mul')
          for (let j = 0; j < n; j++, ai += as, bi += bs) out[o + j] = av[ai]! * bv[bi]!;
        else for (let j = 0; j < n; j++, ai += as, bi += bs) out[o + j] = av[ai]! - bv[bi]!;
      });
    } else {
      forEachBroadcastRun(shape, aStr, bStr, (ai, bi, o, n, as, bs) => {
        for (let j = 0; j < n; j++, ai += as, bi += bs) out[o + j] = f(av[ai]!, bv[bi]!);
      });
    }
    return cpu(backend).output(out, shape, dtype);
  },
}));

export const elementwiseKernels: KernelConfig[] = [
  ...unaryKernels,
  ...binaryKernels,
  {
    kernelName: 'LogicalNot',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [x], backend }) => {
      const xs = cpu(backend).values(x!.dataId);
      const out = new Uint8Array(xs.length);
      for (let i = 0; i < xs.length; i++) out[i] = xs[i] ? 0 : 1;
      return cpu(backend).output(out, x!.shape, 'bool');
    },
  },
  {
    kernelName: 'Where',
    backendName: 'cpu',
    kernelFunc: ({ inputs: [c, a, b], backend }) => {
      const shape = broadcastShapes('where', c!.shape, a!.shape, b!.shape);
      const cs = broadcastStrides(c!.shape, shape);
      const as = broadcastStrides(a!.shape, shape);
      const bs = broadcastStrides(b!.shape, shape);
      const [cv, av, bv] = [c!, a!, b!].map((t) => cpu(backend).values(t.dataId)) as [
        TypedArray,
        TypedArray,
        TypedArray,
      ];
      const out = cpu(backend).uninitializedOutput(a!.dtype, sizeOf(shape));
      forEachBroadcastRun3(shape, cs, as, bs, (ci, ai, bi, o, n, csi, asi, bsi) => {
        for (let j = 0; j < n; j++, ci += csi, ai += asi, bi += bsi) out[o + j] = cv[ci] ? av[ai]! : bv[bi]!;
      });
      return cpu(backend).output(out, shape, a!.dtype);
    },
  },
  cpuKernel('Cast', ({ inputs: [x], attrs, backend }) => {
    const xs = cpu(backend).values(x!.dataId);
    const out = cpu(backend).uninitializedOutput(attrs.dtype, xs.length);
    if (attrs.dtype === 'bool') for (let i = 0; i < xs.length; i++) out[i] = xs[i] ? 1 : 0;
    else if (attrs.dtype === 'int32') for (let i = 0; i < xs.length; i++) out[i] = Math.trunc(xs[i]!);
    else out.set(xs);
    return cpu(backend).output(out, x!.shape, attrs.dtype);
  }),
];
