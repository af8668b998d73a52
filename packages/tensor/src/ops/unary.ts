import { ENGINE, getBackend, scope } from '../engine.js';
import { ArgumentError } from '../errors/index.js';
import type { UnaryKernel } from '../kernel-names.js';
import { getKernel } from '../kernel-registry.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from '../validation.js';
import { asDType } from './operand.js';

/** Float elementwise kernel; int and bool inputs are promoted to float32 first (like PyTorch). */
function unary(kernel: UnaryKernel, x: Tensor): Tensor {
  assertTensor(kernel.toLowerCase(), 'input', x);
  return asDType(x, 'float32', (xf) => ENGINE.runKernel(kernel, [xf], {}));
}

export const neg = (x: Tensor): Tensor => unary('Neg', x);
export const exp = (x: Tensor): Tensor => unary('Exp', x);
export const log = (x: Tensor): Tensor => unary('Log', x);
export const sqrt = (x: Tensor): Tensor => unary('Sqrt', x);
/** 1/√x. */
export const rsqrt = (x: Tensor): Tensor => unary('Rsqrt', x);
export const abs = (x: Tensor): Tensor => unary('Abs', x);
export const sign = (x: Tensor): Tensor => unary('Sign', x);
export const tanh = (x: Tensor): Tensor => unary('Tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('Sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('Relu', x);
/** The Gauss error function. */
export const erf = (x: Tensor): Tensor => unary('Erf', x);
export const sin = (x: Tensor): Tensor => unary('Sin', x);
export const cos = (x: Tensor): Tensor => unary('Cos', x);
export const floor = (x: Tensor): Tensor => unary('Floor', x);
export const ceil = (x: Tensor): Tensor => unary('Ceil', x);
/** Rounds half to even, like `torch.round`. */
export const round = (x: Tensor): Tensor => unary('Round', x);
export const reciprocal = (x: Tensor): Tensor => unary('Reciprocal', x);
export const square = (x: Tensor): Tensor => unary('Square', x);

export interface GeluOptions {
  /** `'none'` (exact, with erf; PyTorch's default) or `'tanh'` (the GPT-2/BERT approximation). */
  approximate?: 'none' | 'tanh';
}

/**
 * Gaussian Error Linear Unit (Hendrycks & Gimpel 2016): `x·Φ(x)`.
 * Exact: `0.5·x·(1 + erf(x/√2))`; tanh form: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
 */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new ArgumentError('gelu', `approximate must be 'none' or 'tanh', got '${approximate}'`);
  }
  assertTensor('gelu', 'input', x);
  // The fused kernel where the backend has one (cpu, wasm); the composed form elsewhere.
  if (getKernel('Gelu', getBackend()))
    return asDType(x, 'float32', (xf) => ENGINE.runKernel('Gelu', [xf], { approximate }));
  return scope(() => {
    if (approximate === 'tanh') {
      const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
      return x.mul(0.5).mul(tanh(inner).add(1));
    }
    return x.mul(0.5).mul(erf(x.mul(Math.SQRT1_2)).add(1));
  });
}

/** Sigmoid Linear Unit / swish: `x·σ(x)`. */
export function silu(x: Tensor): Tensor {
  return scope(() => x.mul(sigmoid(x)));
}
