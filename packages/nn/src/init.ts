import {
  ArgumentError,
  formatShape,
  generatorFrom,
  noGrad,
  type RandomOptions,
  ShapeError,
  scalarErf,
  type Tensor,
  tensor,
} from '@polymodal/tensor';

/**
 * Weight initializers with PyTorch's `torch.nn.init` semantics. Each one draws values on the host
 * from a seeded generator and replaces the tensor's values in place with `assign` (not recorded
 * by autograd), then returns the tensor.
 */

/** Nonlinearities `calculateGain` knows (PyTorch names). */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

function fill(op: string, t: Tensor, draw: () => number): Tensor {
  if (t.dtype !== 'float32') throw new ArgumentError(op, `needs a float32 tensor, got ${t.dtype}`);
  const values = new Float32Array(t.size);
  for (let i = 0; i < values.length; i++) values[i] = draw();
  noGrad(() => {
    const v = tensor(values, { shape: t.shape });
    t.assign(v);
    v.dispose();
  });
  return t;
}

/**
 * The recommended gain for a nonlinearity (PyTorch `calculate_gain`): 1 for linear/conv/sigmoid,
 * 5/3 for tanh, √2 for relu, √(2/(1+a²)) for leaky_relu (a = 0.01 by default), 3/4 for selu.
 *
 * ```ts
 * calculateGain('relu'); // 1.4142…
 * ```
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const a = param ?? 0.01;
      return Math.sqrt(2 / (1 + a * a));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new ArgumentError('calculateGain', `unknown nonlinearity '${nonlinearity}'`);
  }
}

/**
 * Fan-in and fan-out as PyTorch computes them: for `[out, in, ...receptive]`,
 * `fanIn = in · Π receptive`, `fanOut = out · Π receptive`. Needs rank ≥ 2.
 *
 * ```ts
 * computeFans([16, 3, 5, 5]); // { fanIn: 75, fanOut: 400 }
 * ```
 */
export function computeFans(shape: readonly number[], op = 'computeFans'): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new ShapeError(op, `fan in and fan out need a tensor of rank ≥ 2, got ${formatShape(shape)}`);
  }
  let receptive = 1;
  for (const d of shape.slice(2)) receptive *= d;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/**
 * Fills with U(low, high).
 *
 * ```ts
 * uniform_(zeros([3, 4]), -0.1, 0.1, { seed: 0 });
 * ```
 */
export function uniform_(t: Tensor, low = 0, high = 1, options?: RandomOptions): Tensor {
  if (!(high >= low)) throw new ArgumentError('uniform_', `needs low ≤ high, got ${low} and ${high}`);
  const g = generatorFrom(options);
  return fill('uniform_', t, () => low + (high - low) * g.uniform());
}

/**
 * Fills with N(mean, std²).
 *
 * ```ts
 * normal_(zeros([3, 4]), 0, 0.02, { seed: 0 });
 * ```
 */
export function normal_(t: Tensor, mean = 0, std = 1, options?: RandomOptions): Tensor {
  if (!(std >= 0)) throw new ArgumentError('normal_', `std must be ≥ 0, got ${std}`);
  const g = generatorFrom(options);
  return fill('normal_', t, () => mean + std * g.normal());
}

/** Inverse of erf on (−1, 1) by Newton's method from Giles' initial guess. */
function erfinv(y: number): number {
  if (y <= -1) return -Infinity;
  if (y >= 1) return Infinity;
  const w = -Math.log((1 - y) * (1 + y));
  let x: number;
  if (w < 5) {
    const v = w - 2.5;
    x = 2.81022636e-8;
    for (const c of [
      3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164,
      0.246640727, 1.50140941,
    ])
      x = c + x * v;
  } else {
    const v = Math.sqrt(w) - 3;
    x = -0.000200214257;
    for (const c of [
      0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406,
      2.83297682,
    ])
      x = c + x * v;
  }
  x *= y;
  for (let i = 0; i < 2; i++) x -= (scalarErf(x) - y) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
  return x;
}

/**
 * Fills with N(mean, std²) truncated to [a, b], by inverse-CDF sampling like PyTorch's
 * `trunc_normal_` (as used for ViT weights: `truncNormal_(w, 0, 0.02)`).
 *
 * ```ts
 * truncNormal_(zeros([768, 768]), 0, 0.02, -2, 2, { seed: 0 });
 * ```
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, options?: RandomOptions): Tensor {
  if (!(std > 0) || !(b > a)) {
    throw new ArgumentError('truncNormal_', `needs std > 0 and a < b, got std ${std}, a ${a}, b ${b}`);
  }
  const cdf = (x: number) => (1 + scalarErf(x / Math.SQRT2)) / 2;
  const l = cdf((a - mean) / std);
  const u = cdf((b - mean) / std);
  const g = generatorFrom(options);
  return fill('truncNormal_', t, () => {
    const p = 2 * (l + (u - l) * g.uniform()) - 1;
    const x = mean + std * Math.SQRT2 * erfinv(p);
    return Math.min(b, Math.max(a, x));
  });
}

/** Fills with zeros. `zeros_(linear.bias!)`. */
export function zeros_(t: Tensor): Tensor {
  return fill('zeros_', t, () => 0);
}

/** Fills with ones. `ones_(norm.weight!)`. */
export function ones_(t: Tensor): Tensor {
  return fill('ones_', t, () => 1);
}

/** Fills with a constant. `constant_(t, 0.5)`. */
export function constant_(t: Tensor, value: number): Tensor {
  return fill('constant_', t, () => value);
}

export interface XavierOptions extends RandomOptions {
  /** Scales the standard deviation (see `calculateGain`). Default 1. */
  gain?: number;
}

/**
 * Glorot & Bengio (2010) uniform: U(−a, a) with `a = gain·√(6 / (fanIn + fanOut))`.
 *
 * ```ts
 * xavierUniform_(linear.weight, { seed: 0 });
 * ```
 */
export function xavierUniform_(t: Tensor, options: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = computeFans(t.shape, 'xavierUniform_');
  const a = (options.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, options);
}

/**
 * Glorot & Bengio (2010) normal: N(0, std²) with `std = gain·√(2 / (fanIn + fanOut))`.
 *
 * ```ts
 * xavierNormal_(linear.weight, { seed: 0 });
 * ```
 */
export function xavierNormal_(t: Tensor, options: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = computeFans(t.shape, 'xavierNormal_');
  return normal_(t, 0, (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), options);
}

export interface KaimingOptions extends RandomOptions {
  /** Negative slope of the leaky ReLU that follows (used when `nonlinearity` is `'leaky_relu'`). Default 0. */
  a?: number;
  /** `'fanIn'` keeps forward variance, `'fanOut'` backward. Default `'fanIn'`. */
  mode?: 'fanIn' | 'fanOut';
  /** Default `'leaky_relu'` (PyTorch's default). */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = computeFans(t.shape, op);
  const mode = options.mode ?? 'fanIn';
  if (mode !== 'fanIn' && mode !== 'fanOut') {
    throw new ArgumentError(op, `mode must be 'fanIn' or 'fanOut', got '${mode}'`);
  }
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  return gain / Math.sqrt(mode === 'fanIn' ? fanIn : fanOut);
}

/**
 * He et al. (2015) uniform: U(−b, b) with `b = gain·√(3 / fan)`. PyTorch's `Linear`/`Conv2d`
 * default is `kaimingUniform_(w, { a: √5 })`, i.e. `b = 1/√fanIn`.
 *
 * ```ts
 * kaimingUniform_(conv.weight, { nonlinearity: 'relu', seed: 0 });
 * ```
 */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, options);
  return uniform_(t, -bound, bound, options);
}

/**
 * He et al. (2015) normal: N(0, std²) with `std = gain/√fan`.
 *
 * ```ts
 * kaimingNormal_(conv.weight, { mode: 'fanOut', nonlinearity: 'relu', seed: 0 });
 * ```
 */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, options), options);
}
