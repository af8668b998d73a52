import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

describe('autograd semantics', () => {
  it('the issue example gives the same gradient on every Node backend', async () => {
    const grads: number[][] = [];
    for (const backend of ['cpu', 'wasm']) {
      T.setBackend(backend);
      const x = T.randn([4, 3], { seed: 1 });
      const w = T.randn([3, 2], { seed: 2, requiresGrad: true });
      const loss = T.matmul(x, w).relu().sum();
      loss.backward();
      grads.push(Array.from(await w.grad!.data()));
    }
    T.setBackend('cpu');
    // Independent value: d/dW Σ relu(XW) = Xᵀ·1[XW > 0], computed by hand here.
    const x = T.randn([4, 3], { seed: 1 }).arraySync() as number[][];
    const w = T.randn([3, 2], { seed: 2 }).arraySync() as number[][];
    const expected = new Array(6).fill(0);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 2; j++) {
        const z = x[i]![0]! * w[0]![j]! + x[i]![1]! * w[1]![j]! + x[i]![2]! * w[2]![j]!;
        if (z > 0) for (let k = 0; k < 3; k++) expected[k * 2 + j] += x[i]![k]!;
      }
    }
    for (const g of grads) g.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });

  it('skips the work for inputs that need no gradient (needsInputGrad), with unchanged results', () => {
    T.setBackend('cpu');
    const x = T.randn([5, 4], { seed: 3 });
    const w = T.randn([4, 3], { seed: 4, requiresGrad: true });
    const bias = T.randn([3], { seed: 5 });
    const mask = T.rand([5, 3], { seed: 6 }).gt(0.3).float();
    const loss = () => T.matmul(x, w).add(bias).mul(mask).sum();
    // Only w wants a gradient: the backward runs one GEMM (dW), not two, and no sum for the bias.
    const p = T.profile(() => loss().backward());
    const calls = (k: string) => p.kernels.filter((t) => t.kernel === k).reduce((n, t) => n + t.calls, 0);
    const gemmsFwdAndBwd = calls('BatchMatMul');
    expect(gemmsFwdAndBwd).toBe(2);
    const onlyW = Array.from(w.grad!.dataSync());
    // The same gradient for w as when every input requires grad.
    w.grad = null;
    const [x2, b2, m2] = [x, bias, mask].map((t) =>
      T.tensor(t.dataSync(), { shape: t.shape, requiresGrad: true }),
    );
    T.matmul(x2!, w).add(b2!).mul(m2!).sum().backward();
    expect(Array.from(w.grad!.dataSync())).toEqual(onlyW);
    expect(x2!.grad!.shape).toEqual([5, 4]);
    expect(b2!.grad!.shape).toEqual([3]);
  });

  it('accumulates across backward calls and undoes broadcasting', () => {
    const b = T.zeros([3], { requiresGrad: true });
    const x = T.ones([2, 3]);
    x.add(b).sum().backward();
    x.add(b).sum().backward();
    expect(Array.from(b.grad!.dataSync())).toEqual([4, 4, 4]);
    b.zeroGrad();
    expect(b.grad).toBeNull();
  });

  it('a tensor used twice gets both contributions; leaves get separate grad tensors', () => {
    const a = T.tensor([1, 2], { requiresGrad: true });
    const c = T.tensor([3, 4], { requiresGrad: true });
    a.add(c).sum().backward();
    expect(a.grad).not.toBe(c.grad);
    a.grad!.dispose();
    expect(Array.from(c.grad!.dataSync())).toEqual([1, 1]);
    const x = T.tensor([3], { requiresGrad: true });
    x.mul(x).sum().backward(); // d(x²)/dx = 2x
    expect(x.grad!.item()).toBe(6);
  });

  it('noGrad and detach cut the graph', () => {
    const w = T.ones([2], { requiresGrad: true });
    expect(T.noGrad(() => w.mul(2)).requiresGrad).toBe(false);
    expect(w.detach().mul(2).requiresGrad).toBe(false);
    expect(T.isGradEnabled()).toBe(true);
  });

  it('backward works after the scope that built the graph disposed its intermediates', () => {
    const w = T.tensor([1, 2, 3], { requiresGrad: true });
    const loss = T.scope(() =>
      T.softmax(w.mul(2))
        .mul(T.tensor([1, 0, 0]))
        .sum(),
    );
    loss.backward();
    const p = T.softmax(T.tensor([2, 4, 6])).dataSync();
    // d p0 / d w_j = 2·p0·(δ0j − p_j)
    const expected = [2 * p[0]! * (1 - p[0]!), -2 * p[0]! * p[1]!, -2 * p[0]! * p[2]!];
    Array.from(w.grad!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('grad and valueAndGrad', () => {
    const [g] = T.grad((x) => x.square().sum())(T.tensor([1, -2, 3]));
    expect(Array.from(g!.dataSync())).toEqual([2, -4, 6]);
    const { value, grads } = T.valueAndGrad((x, y) => x.mul(y).sum())(T.tensor([2]), T.tensor([5]));
    expect(value.item()).toBe(10);
    expect(grads.map((t) => t.item())).toEqual([5, 2]);
  });

  it('an upstream gradient for non-scalar outputs', () => {
    const x = T.tensor([1, 2], { requiresGrad: true });
    x.mul(3).backward(T.tensor([1, 10]));
    expect(Array.from(x.grad!.dataSync())).toEqual([3, 30]);
  });
});
