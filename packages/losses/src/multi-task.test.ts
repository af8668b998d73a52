import {
  ArgumentError,
  gradCheck,
  ShapeError,
  type Tensor,
  tensor,
  withAnomalyMode,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { multiTaskLoss, uncertaintyWeightedLoss } from './multi-task.js';

describe('multiTaskLoss', () => {
  it('sums weighted terms and reports each (hand-worked: 0.5·2 + 2·3 = 7)', () => {
    const a = tensor(2);
    const b = tensor([3]);
    const { loss, terms } = multiTaskLoss({ a, b }, { a: 0.5, b: 2 });
    expect(loss.item()).toBe(7);
    expect(terms.a!.weighted.item()).toBe(1);
    expect(terms.b!.weight).toBe(2);
    expect(terms.b!.loss).toBe(b);
  });
  it('passes gradCheck in the losses', () => {
    const f = (l: Tensor) =>
      multiTaskLoss({ a: l.slice(0, 0, 1), b: l.slice(0, 1, 2).square() }, { a: 0.5, b: 2 }).loss;
    expect(gradCheck(f, [tensor([1.5, 0.7])]).ok).toBe(true);
  });
  it('rejects missing, unexpected, non-scalar and NaN losses', () => {
    expect(() => multiTaskLoss({ a: tensor(1) }, { a: 1, b: 1 })).toThrow(/missing \[b\]/);
    expect(() => multiTaskLoss({ a: tensor(1), c: tensor(1) }, { a: 1 })).toThrow(/unexpected \[c\]/);
    expect(() => multiTaskLoss({ a: tensor([1, 2]) }, { a: 1 })).toThrow(ShapeError);
    // A NaN loss is found in anomaly mode (reading a loss back is a device sync).
    withAnomalyMode(() =>
      expect(() => multiTaskLoss({ a: tensor(Number.NaN) }, { a: 1 })).toThrow(ArgumentError),
    );
    expect(() => multiTaskLoss({ a: tensor(Number.NaN) }, { a: 1 })).not.toThrow();
    expect(() => multiTaskLoss({}, {})).toThrow(/no tasks/);
    expect(() => multiTaskLoss({ a: tensor(1) }, { a: Number.NaN })).toThrow(/finite/);
  });
});

describe('uncertaintyWeightedLoss', () => {
  it('computes Σ exp(−s_i)·L_i + s_i and its gradient (hand-worked)', () => {
    // s = [0, ln 2], L = [2, 3]: 1·2 + 0 + ½·3 + ln 2 = 3.5 + ln 2.
    // ∂/∂s_i = −exp(−s_i)·L_i + 1 = [−1, −0.5];  ∂/∂L_i = exp(−s_i) = [1, 0.5].
    const logVars = tensor([0, Math.log(2)], { requiresGrad: true });
    const itc = tensor(2, { requiresGrad: true });
    const itm = tensor(3, { requiresGrad: true });
    const { loss, terms } = uncertaintyWeightedLoss({ itc, itm }, logVars, ['itc', 'itm']);
    expect(loss.item()).toBeCloseTo(3.5 + Math.LN2, 5);
    expect((terms.itm!.weight as Tensor).item()).toBeCloseTo(0.5, 6);
    expect(terms.itm!.weighted.item()).toBeCloseTo(1.5 + Math.LN2, 5);
    loss.backward();
    expect([...logVars.grad!.dataSync()].map((v) => Number(v.toFixed(5)))).toEqual([-1, -0.5]);
    expect(itm.grad!.item()).toBeCloseTo(0.5, 6);
  });
  it('passes gradCheck in the log-variances and the losses', () => {
    const f = (s: Tensor, l: Tensor) =>
      uncertaintyWeightedLoss({ a: l.slice(0, 0, 1), b: l.slice(0, 1, 2) }, s, ['a', 'b']).loss;
    expect(gradCheck(f, [tensor([0.3, -0.2]), tensor([1.5, 0.7])]).ok).toBe(true);
  });
  it('rejects mis-sized log-variances', () => {
    expect(() => uncertaintyWeightedLoss({ a: tensor(1) }, tensor([0, 0]), ['a'])).toThrow(ShapeError);
  });
});
