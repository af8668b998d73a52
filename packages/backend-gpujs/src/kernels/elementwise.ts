import { broadcastShapes } from '@polymodal/tensor';
import {
  ARITHMETIC_KERNELS,
  type ArithmeticKernel,
  broadcastStrides,
  COMPARISON_KERNELS,
  type ComparisonKernel,
  collapseDims,
  UNARY_KERNELS,
  type UnaryKernel,
} from '@polymodal/tensor/backend';
import { decodeIndex, dot, MAX_RANK, names, padLeft } from '../kernel-source.js';
import { gpujsKernel, type KernelFactory } from './common.js';

/** Each unary kernel as an expression of `v` (same formulas as the cpu backend's scalar-math). */
const UNARY_EXPR: Record<UnaryKernel, string> = {
  Neg: '-v',
  Exp: 'Math.exp(v)',
  Log: 'Math.log(v)',
  Sqrt: 'Math.sqrt(v)',
  Rsqrt: '1 / Math.sqrt(v)',
  Abs: 'Math.abs(v)',
  Sign: '(v > 0 ? 1 : (v < 0 ? -1 : 0))',
  // tanh and sigmoid through exp(−|v|): no overflow at large |v|.
  Tanh: '(v >= 0 ? 1 : -1) * (1 - Math.exp(-2 * Math.abs(v))) / (1 + Math.exp(-2 * Math.abs(v)))',
  Sigmoid: '(v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))',
  Relu: 'Math.max(v, 0)',
  // Abramowitz & Stegun 7.1.26, as in scalar-math.ts.
  Erf: '(v >= 0 ? 1 : -1) * (1 - ((((1.061405429 * (1 / (1 + 0.3275911 * Math.abs(v))) - 1.453152027) * (1 / (1 + 0.3275911 * Math.abs(v))) + 1.421413741) * (1 / (1 + 0.3275911 * Math.abs(v))) - 0.284496736) * (1 / (1 + 0.3275911 * Math.abs(v))) + 0.254829592) * (1 / (1 + 0.3275911 * Math.abs(v))) * Math.exp(-v * v))',
  Sin: 'Math.sin(v)',
  Cos: 'Math.cos(v)',
  Floor: 'Math.floor(v)',
  Ceil: 'Math.ceil(v)',
  // Half to even: floor(v + 0.5), one less when that lands on an odd number from exactly .5.
  Round:
    '(Math.floor(v + 0.5) - v == 0.5 && Math.floor(v + 0.5) - 2 * Math.floor((Math.floor(v + 0.5)) / 2) == 1 ? Math.floor(v + 0.5) - 1 : Math.floor(v + 0.5))',
  Reciprocal: '1 / v',
  Square: 'v * v',
};

const BINARY_EXPR: Record<ArithmeticKernel | ComparisonKernel, string> = {
  Add: 'x + y',
  Sub: 'x - y',
  Mul: 'x * y',
  Div: 'x / y',
  // GLSL pow is undefined for x < 0: use |x| and restore the sign for odd integer exponents.
  Pow: '(x < 0 && Math.floor(y) == y && Math.abs(y - 2 * Math.floor(y / 2)) == 1 ? -Math.pow(-x, y) : (x < 0 && Math.floor(y) == y ? Math.pow(-x, y) : Math.pow(x, y)))',
  Maximum: 'Math.max(x, y)',
  Minimum: 'Math.min(x, y)',
  Equal: '(x == y ? 1 : 0)',
  NotEqual: '(x != y ? 1 : 0)',
  Less: '(x < y ? 1 : 0)',
  LessEqual: '(x <= y ? 1 : 0)',
  Greater: '(x > y ? 1 : 0)',
  GreaterEqual: '(x >= y ? 1 : 0)',
  LogicalAnd: '(x != 0 && y != 0 ? 1 : 0)',
  LogicalOr: '(x != 0 || y != 0 ? 1 : 0)',
};

/** Source of an n-ary broadcasting kernel over `rank` merged dims. */
function broadcastSource(inputs: string[], body: string, rank: number): string {
  const strideArgs = inputs.flatMap((name) => names(`${name}s`, 0, rank));
  const reads = inputs.map((name) => `const ${name}v = ${name}[${dot('c', `${name}s`, rank)}];`);
  return `function(${[...inputs, ...names('s', 1, rank), ...strideArgs].join(', ')}) {
  ${decodeIndex('this.thread.x', rank)}
  ${reads.join('\n  ')}
  return ${body};
}`;
}

/**
 * Merged dims and strides for the broadcast kernels (a same-shape op merges to rank 1, a bias add
 * to rank 2); null if more than MAX_RANK dims remain.
 */
function broadcastArgs(
  outShape: number[],
  shapes: readonly (readonly number[])[],
): { rank: number; args: number[] } | null {
  const merged = collapseDims(
    outShape,
    shapes.map((s) => broadcastStrides(s, outShape)),
  );
  const rank = Math.max(merged.shape.length, 1);
  if (rank > MAX_RANK) return null;
  const dims = padLeft(merged.shape, 1, rank);
  return { rank, args: [...dims.slice(1), ...merged.strides.flatMap((s) => padLeft(s, 0, rank))] };
}

const unary: KernelFactory[] = UNARY_KERNELS.map((kernelName) =>
  gpujsKernel(kernelName, (backend, [x]) =>
    backend.run(
      kernelName,
      `function(x) {\n  const v = x[this.thread.x];\n  return ${UNARY_EXPR[kernelName]};\n}`,
      x!.shape,
      'float32',
      [backend.arg(x!.dataId)],
    ),
  ),
);

const binarySource = (expr: string, rank: number) =>
  broadcastSource(['a', 'b'], expr.replaceAll(/\bx\b/g, 'av').replaceAll(/\by\b/g, 'bv'), rank);

const binary: KernelFactory[] = [...ARITHMETIC_KERNELS, ...COMPARISON_KERNELS].map((kernelName) =>
  gpujsKernel(kernelName, (backend, [a, b]) => {
    const shape = broadcastShapes(kernelName, a!.shape, b!.shape);
    const plan = broadcastArgs(shape, [a!.shape, b!.shape]);
    if (!plan) return null;
    const dtype = (COMPARISON_KERNELS as readonly string[]).includes(kernelName) ? 'bool' : a!.dtype;
    return backend.run(
      `${kernelName}/${plan.rank}`,
      binarySource(BINARY_EXPR[kernelName], plan.rank),
      shape,
      dtype,
      [backend.arg(a!.dataId), backend.arg(b!.dataId), ...plan.args],
    );
  }),
);

export const elementwiseKernels: KernelFactory[] = [
  ...unary,
  ...binary,
  gpujsKernel('Where', (backend, [c, a, b]) => {
    const shape = broadcastShapes('where', c!.shape, a!.shape, b!.shape);
    const plan = broadcastArgs(shape, [c!.shape, a!.shape, b!.shape]);
    if (!plan) return null;
    return backend.run(
      `Where/${plan.rank}`,
      broadcastSource(['w', 'a', 'b'], '(wv != 0 ? av : bv)', plan.rank),
      shape,
      a!.dtype,
      [backend.arg(c!.dataId), backend.arg(a!.dataId), backend.arg(b!.dataId), ...plan.args],
    );
  }),
  gpujsKernel('LogicalNot', (backend, [x]) =>
    backend.run('LogicalNot', 'function(x) {\n  return x[this.thread.x] != 0 ? 0 : 1;\n}', x!.shape, 'bool', [
      backend.arg(x!.dataId),
    ]),
  ),
  gpujsKernel('Cast', (backend, [x], { dtype }) => {
    const expr =
      dtype === 'bool'
        ? '(v != 0 ? 1 : 0)'
        : dtype === 'int32'
          ? '(v >= 0 ? Math.floor(v) : Math.ceil(v))'
          : 'v';
    return backend.run(
      `Cast_${dtype}`,
      `function(x) {\n  const v = x[this.thread.x];\n  return ${expr};\n}`,
      x!.shape,
      dtype,
      [backend.arg(x!.dataId)],
    );
  }),
];
