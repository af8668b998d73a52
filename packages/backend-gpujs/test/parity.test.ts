/**
 * The gpu.js backends behave as the built-in ones where semantics matter beyond single ops:
 * registration on import, NaN in argmax, seeded draws, autograd through a small graph, and device
 * buffers freed by a training loop's scopes.
 */
import * as T from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { GPUJS_MODES, registerGpujsBackends } from '../src/index.js';

const NODE_MODES = ['gpujs-webasm', 'gpujs-cpu'];
afterAll(() => T.setBackend('cpu'));

describe('@polymodal/backend-gpujs', () => {
  it('registers gpujs and one backend per mode on import, once', () => {
    const names = T.ENGINE.registeredBackends();
    expect(names).toContain('gpujs');
    for (const mode of GPUJS_MODES) expect(names).toContain(`gpujs-${mode}`);
    registerGpujsBackends();
    expect(T.ENGINE.registeredBackends()).toEqual(names);
  });

  for (const backend of NODE_MODES)
    it(`argmax/argmin propagate NaN as PyTorch does on ${backend}`, () => {
      T.setBackend(backend);
      const x = T.tensor([
        [1, Number.NaN, 3, Number.NaN],
        [Number.NaN, 2, 0, 5],
        [4, 3, 2, 1],
      ]);
      const read = (t: T.Tensor) => Array.from(t.dataSync());
      expect(read(x.argmax(1))).toEqual([1, 0, 0]);
      expect(read(x.argmin(1))).toEqual([1, 0, 3]);
      expect(read(x.argmax(0))).toEqual([1, 0, 0, 0]);
      expect(read(T.tensor([2, 5, 5, 1]).argmax())).toEqual([1]);
    });

  it('seeded draws equal the cpu backend', () => {
    const draw = (backend: string) => {
      T.setBackend(backend);
      return [T.rand([50], { seed: 9 }), T.randn([50], { seed: 9 }), T.randint(0, 7, [50], { seed: 9 })].map(
        (t) => Array.from(t.dataSync()),
      );
    };
    expect(draw('gpujs-webasm')).toEqual(draw('cpu'));
  });

  it('the gradient of relu(XW) matches the hand-computed one on every Node mode', async () => {
    for (const backend of NODE_MODES) {
      T.setBackend(backend);
      const x = T.randn([4, 3], { seed: 1 });
      const w = T.randn([3, 2], { seed: 2, requiresGrad: true });
      T.matmul(x, w).relu().sum().backward();
      const got = Array.from(await w.grad!.data());
      T.setBackend('cpu');
      const xs = T.randn([4, 3], { seed: 1 }).arraySync() as number[][];
      const ws = T.randn([3, 2], { seed: 2 }).arraySync() as number[][];
      const expected = new Array(6).fill(0);
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 2; j++) {
          const z = xs[i]![0]! * ws[0]![j]! + xs[i]![1]! * ws[1]![j]! + xs[i]![2]! * ws[2]![j]!;
          if (z > 0) for (let k = 0; k < 3; k++) expected[k * 2 + j] += xs[i]![k]!;
        }
      got.forEach((v, i) => expect(v, `${backend}[${i}]`).toBeCloseTo(expected[i], 5));
    }
  });

  it('a training loop in scopes leaves tensors, bytes and device buffers flat on gpujs-webasm', () => {
    T.setBackend('gpujs-webasm');
    const before = T.memory();
    const w1 = T.randn([8, 16], { seed: 1, std: 0.3, requiresGrad: true });
    const w2 = T.randn([16, 4], { seed: 2, std: 0.3, requiresGrad: true });
    const x = T.randn([32, 8], { seed: 3 });
    const y = T.randint(0, 4, [32], { seed: 4 });
    const live = new Set<string>();
    for (let step = 0; step < 50; step++) {
      T.scope(() => {
        const loss = T.crossEntropy(T.gelu(x.matmul(w1)).matmul(w2).logSoftmax(-1), y);
        loss.backward();
        for (const w of [w1, w2]) {
          w.assign(w.sub(w.grad!.mul(0.1)));
          w.zeroGrad();
        }
      });
      live.add(`${T.memory().tensors}/${T.memory().bytes}`);
    }
    for (const t of [w1, w2, x, y]) t.dispose();
    expect(live.size).toBe(1);
    expect(T.memory().backends['gpujs-webasm']?.buffers ?? 0).toBe(
      before.backends['gpujs-webasm']?.buffers ?? 0,
    );
  });
});
