import { manualSeed, ShapeError, tensor, zeros } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  calculateGain,
  computeFans,
  kaimingNormal_,
  kaimingUniform_,
  normal_,
  ones_,
  truncNormal_,
  uniform_,
  xavierNormal_,
  xavierUniform_,
  zeros_,
} from './init.js';

function stats(values: ArrayLike<number>): { mean: number; variance: number; min: number; max: number } {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    s += values[i]!;
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  const mean = s / values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i]! - mean) ** 2;
  return { mean, variance: v / values.length, min, max };
}

describe('initializers', () => {
  it('computes fans like torch.nn.init._calculate_fan_in_and_fan_out', () => {
    // torch: Conv2d(3, 16, 5).weight -> fan_in 3*25 = 75, fan_out 16*25 = 400.
    expect(computeFans([16, 3, 5, 5])).toEqual({ fanIn: 75, fanOut: 400 });
    expect(computeFans([10, 20])).toEqual({ fanIn: 20, fanOut: 10 });
    expect(() => computeFans([5])).toThrow(ShapeError);
    expect(() => xavierUniform_(zeros([5]))).toThrow(/xavierUniform_: .*rank ≥ 2, got \[5\]/);
  });

  it('gains match torch.nn.init.calculate_gain', () => {
    expect(calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(calculateGain('selu')).toBe(0.75);
    expect(calculateGain('conv2d')).toBe(1);
  });

  it('uniform-family draws stay within the PyTorch bound and have its variance', () => {
    const w = zeros([200, 100]);
    // kaiming_uniform(a=√5): bound = gain·√(3/fanIn) = √(1/3)·√(3/100) = 0.1.
    const k = stats(kaimingUniform_(w, { a: Math.sqrt(5), seed: 1 }).dataSync());
    expect(k.max).toBeLessThanOrEqual(0.1);
    expect(k.min).toBeGreaterThanOrEqual(-0.1);
    expect(k.max).toBeGreaterThan(0.099);
    expect(k.variance).toBeCloseTo(0.01 / 3, 4);
    // xavier_uniform: a = √(6/(100+200)) = 0.1414…
    const x = stats(xavierUniform_(w, { seed: 2 }).dataSync());
    expect(x.max).toBeLessThanOrEqual(Math.sqrt(6 / 300));
    expect(x.variance).toBeCloseTo(2 / 300, 4);
    const u = stats(uniform_(w, 2, 4, { seed: 3 }).dataSync());
    expect(u.min).toBeGreaterThanOrEqual(2);
    expect(u.mean).toBeCloseTo(3, 1);
  });

  it('normal-family draws have the PyTorch standard deviation', () => {
    const w = zeros([400, 100]);
    // kaiming_normal(relu, fan_in): std = √2/√100.
    const k = stats(kaimingNormal_(w, { nonlinearity: 'relu', seed: 4 }).dataSync());
    expect(Math.sqrt(k.variance)).toBeCloseTo(Math.SQRT2 / 10, 2);
    // fan_out: std = √2/√400.
    const ko = stats(kaimingNormal_(w, { nonlinearity: 'relu', mode: 'fanOut', seed: 4 }).dataSync());
    expect(Math.sqrt(ko.variance)).toBeCloseTo(Math.SQRT2 / 20, 2);
    const x = stats(xavierNormal_(w, { gain: 2, seed: 5 }).dataSync());
    expect(Math.sqrt(x.variance)).toBeCloseTo(2 * Math.sqrt(2 / 500), 2);
    const n = stats(normal_(w, 1, 0.5, { seed: 6 }).dataSync());
    expect(Math.abs(n.mean - 1)).toBeLessThan(0.0125); // 5 standard errors (0.5/√40000)
    expect(Math.sqrt(n.variance)).toBeCloseTo(0.5, 2);
  });

  it('truncNormal_ respects the bounds and the truncated variance', () => {
    const w = zeros([200, 200]);
    const t = stats(truncNormal_(w, 0, 1, -1, 1, { seed: 7 }).dataSync());
    expect(t.min).toBeGreaterThanOrEqual(-1);
    expect(t.max).toBeLessThanOrEqual(1);
    // Variance of N(0,1) truncated to [-1,1]: 1 − 2φ(1)/(2Φ(1)−1) = 0.29112 (standard formula).
    expect(t.variance).toBeCloseTo(0.29112, 2);
    const vit = stats(truncNormal_(w, 0, 0.02, -2, 2, { seed: 8 }).dataSync());
    expect(Math.sqrt(vit.variance)).toBeCloseTo(0.02, 3);
  });

  it('is reproducible by seed, generator or manualSeed, and fills constants', () => {
    const a = kaimingUniform_(zeros([3, 4]), { seed: 11 }).dataSync();
    const b = kaimingUniform_(zeros([3, 4]), { seed: 11 }).dataSync();
    expect(a).toEqual(b);
    manualSeed(5);
    const c = normal_(zeros([5])).dataSync();
    manualSeed(5);
    expect(normal_(zeros([5])).dataSync()).toEqual(c);
    expect(Array.from(zeros_(tensor([1, 2])).dataSync())).toEqual([0, 0]);
    expect(Array.from(ones_(zeros([2])).dataSync())).toEqual([1, 1]);
    expect(() => ones_(zeros([2], { dtype: 'int32' }))).toThrow(/float32/);
  });
});
