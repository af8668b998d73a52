import { describe, expect, it } from 'vitest';
import {
  conv2d,
  crossEntropy,
  gradCheck,
  layerNorm,
  matmul,
  maxPool2d,
  memory,
  randn,
  scope,
  softmax,
  tensor,
} from './index.js';

describe('smoke', () => {
  it('issue example on cpu', async () => {
    const x = randn([4, 3], { seed: 1 });
    const w = randn([3, 2], { seed: 2, requiresGrad: true });
    const loss = matmul(x, w).relu().sum();
    loss.backward();
    const g = await w.grad!.data();
    expect(g.length).toBe(6);
    const xs = x.dataSync();
    const ws = w.dataSync();
    // manual
    const exp = new Float32Array(6);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += xs[i * 3 + k]! * ws[k * 2 + j]!;
        if (s > 0) for (let k = 0; k < 3; k++) exp[k * 2 + j]! += xs[i * 3 + k]!;
      }
    expect(Array.from(g)).toEqual(Array.from(exp).map((v) => expect.closeTo(v, 5)));
  });
  it('gradchecks', () => {
    const x = randn([2, 3, 5, 5], { seed: 3 });
    const w = randn([4, 3, 3, 3], { seed: 4 });
    expect(
      gradCheck((a, b) => conv2d(a, b, null, { padding: 1, stride: 2 }).square().mean(), [x, w]).ok,
    ).toBe(true);
    const l = randn([4, 5], { seed: 5 });
    const t = tensor(new Int32Array([1, 0, -100, 4]), { shape: [4] });
    expect(gradCheck((a) => crossEntropy(a, t, { labelSmoothing: 0.1 }), [l]).ok).toBe(true);
    expect(gradCheck((a) => layerNorm(a, [5]).mul(softmax(a)).sum(), [l]).ok).toBe(true);
    expect(gradCheck((a) => maxPool2d(a, 2).sum(), [x]).ok).toBe(true);
  });
  it('memory flat', () => {
    const w = randn([8, 8], { seed: 1, requiresGrad: true });
    const before = memory().tensors;
    for (let i = 0; i < 50; i++) {
      scope(() => {
        const loss = randn([4, 8]).matmul(w).tanh().sum();
        loss.backward();
        w.assign(w.sub(w.grad!.mul(0.01)));
        w.zeroGrad();
      });
    }
    expect(memory().tensors).toBe(before);
  });
});
