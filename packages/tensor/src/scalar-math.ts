/**
 * Scalar definitions of the elementwise kernels, shared by the CPU backend and the conformance
 * tests. GPU kernels implement the same formulas in their own language.
 */
import type { ArithmeticKernel, ComparisonKernel, UnaryKernel } from './kernel-names.js';

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32 resolution near 1). */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}

/** Round half to even, like `torch.round`. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

export const UNARY_FNS: Record<UnaryKernel, (x: number) => number> = {
  Neg: (x) => -x,
  Exp: Math.exp,
  Log: Math.log,
  Sqrt: Math.sqrt,
  Rsqrt: (x) => 1 / Math.sqrt(x),
  Abs: Math.abs,
  Sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  Tanh: Math.tanh,
  Sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  Relu: (x) => Math.max(x, 0),
  Erf: erf,
  Sin: Math.sin,
  Cos: Math.cos,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Round: roundHalfEven,
  Reciprocal: (x) => 1 / x,
  Square: (x) => x * x,
};

export const BINARY_FNS: Record<ArithmeticKernel | ComparisonKernel, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Pow: (a, b) => a ** b,
  Maximum: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  Minimum: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  Equal: (a, b) => (a === b ? 1 : 0),
  NotEqual: (a, b) => (a !== b ? 1 : 0),
  Less: (a, b) => (a < b ? 1 : 0),
  LessEqual: (a, b) => (a <= b ? 1 : 0),
  Greater: (a, b) => (a > b ? 1 : 0),
  GreaterEqual: (a, b) => (a >= b ? 1 : 0),
  LogicalAnd: (a, b) => (a && b ? 1 : 0),
  LogicalOr: (a, b) => (a || b ? 1 : 0),
};
