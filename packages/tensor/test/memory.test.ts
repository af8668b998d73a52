import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

/** A two-layer MLP trained with SGD inside a scope per step, as a training loop does. */
function train(backend: string, steps: number): { tensors: number[]; bytes: number[] } {
  T.setBackend(backend);
  const w1 = T.randn([8, 16], { seed: 1, std: 0.3, requiresGrad: true });
  const w2 = T.randn([16, 4], { seed: 2, std: 0.3, requiresGrad: true });
  const x = T.randn([32, 8], { seed: 3 });
  const y = T.randint(0, 4, [32], { seed: 4 });
  const tensors: number[] = [];
  const bytes: number[] = [];
  for (let step = 0; step < steps; step++) {
    T.scope(() => {
      const loss = T.crossEntropy(T.gelu(x.matmul(w1)).matmul(w2).logSoftmax(-1), y, { labelSmoothing: 0.1 });
      loss.backward();
      for (const w of [w1, w2]) {
        w.assign(w.sub(w.grad!.mul(0.1)));
        w.zeroGrad();
      }
    });
    tensors.push(T.memory().tensors);
    bytes.push(T.memory().bytes);
  }
  for (const t of [w1, w2, x, y]) t.dispose();
  return { tensors, bytes };
}

describe('memory', () => {
  it('a 1,000-step training loop leaves live tensors and bytes flat (cpu)', () => {
    const before = T.memory();
    const { tensors, bytes } = train('cpu', 1000);
    expect(new Set(tensors).size).toBe(1);
    expect(new Set(bytes).size).toBe(1);
    expect(T.memory().tensors).toBe(before.tensors);
    expect(T.memory().bytes).toBe(before.bytes);
  });

  it('memory() reports live tensors and bytes per backend', () => {
    T.setBackend('cpu');
    const before = T.memory();
    const a = T.zeros([10, 10]);
    const b = a.reshape(100); // shares storage: one more tensor, no more bytes
    expect(T.memory().tensors).toBe(before.tensors + 2);
    expect(T.memory().bytes).toBe(before.bytes + 400);
    a.dispose();
    expect(T.memory().bytes).toBe(before.bytes + 400);
    b.dispose();
    expect(T.memory().bytes).toBe(before.bytes);
  });

  it('scope frees what fn made when fn throws (as TF.js tidy), keeping what fn kept', () => {
    T.setBackend('cpu');
    const before = T.memory();
    // The reproduction from issue 16: a shape error after two tensors were made.
    expect(() => T.scope(() => T.add(T.zeros([2]), T.zeros([3])))).toThrow(T.ShapeError);
    expect(T.memory().tensors).toBe(before.tensors);
    expect(T.memory().bytes).toBe(before.bytes);

    // Nested: the inner scope's result belongs to the outer one, which throws later.
    let kept: T.Tensor | null = null;
    expect(() =>
      T.scope(() => {
        const inner = T.scope(() => T.ones([4]).mul(2));
        kept = T.keep(T.ones([5]));
        inner.add(1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(T.memory().tensors).toBe(before.tensors + 1);
    expect(kept!.isDisposed).toBe(false);
    kept!.dispose();
    expect(T.memory().bytes).toBe(before.bytes);

    // A throw inside backward (a gradient of the wrong shape) frees the partial gradients too.
    const x = T.randn([3], { seed: 1, requiresGrad: true });
    const mid = T.memory().tensors;
    expect(() =>
      T.scope(() =>
        x
          .mul(2)
          .sum()
          .backward(T.ones([2])),
      ),
    ).toThrow(T.ShapeError);
    expect(T.memory().tensors).toBe(mid);
    expect(x.grad).toBeNull();
    x.dispose();
  });

  it('creationMark and tensorsIn find the tensors a container holds, and those made after a mark', () => {
    T.setBackend('cpu');
    const old = T.zeros([2]);
    const mark = T.creationMark();
    const a = T.ones([3]);
    const b = a.reshape(3, 1);
    const batch = { a, nested: [b, { old }], map: new Map([['c', a]]), label: 'x', n: 3 };
    expect(T.tensorsIn(batch)).toEqual([a, b, old]);
    expect(T.tensorsIn(batch, { since: mark })).toEqual([a, b]);
    expect(T.tensorsIn(old)).toEqual([old]);
    expect(T.tensorsIn(null)).toEqual([]);
    T.disposeTensors(batch);
    expect([a.isDisposed, b.isDisposed, old.isDisposed]).toEqual([true, true, true]);
  });
});
