import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

beforeAll(() => T.setBackend('cpu'));

describe('backward refuses tensors changed in place after an op saved them', () => {
  it('the issue 16 reproduction: w changed after x·w throws, naming the op and the tensor', () => {
    const x = T.tensor([1, 2], { requiresGrad: true });
    const w = T.tensor([3, 4]);
    const y = x.mul(w).sum();
    w.assign(T.tensor([10, 10]));
    let error: unknown;
    try {
      y.backward();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(T.AutogradError);
    const message = (error as Error).message;
    expect(message).toMatch(/^backward\(Mul\): input 1 of Mul, tensor #\d+ \[2\], was modified in place/);
    expect(message).toContain(`tensor #${w.id}`);
    expect(message).toContain('version 1, the gradient needs version 0');
    // No wrong gradient was written: before the check, x.grad was [10, 10] (PyTorch: error).
    expect(x.grad).toBeNull();
  });

  it('without the change the same graph gives dy/dx = w', () => {
    const x = T.tensor([1, 2], { requiresGrad: true });
    const w = T.tensor([3, 4]);
    x.mul(w).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([3, 4]);
  });

  it('a change to a tensor whose values the gradient does not read is fine (as in PyTorch)', () => {
    // Add's gradient needs only shapes: dy/dx = 1 whatever b holds.
    const x = T.tensor([1, 2], { requiresGrad: true });
    const b = T.tensor([5, 6]);
    const y = x.add(b).sum();
    b.assign(T.tensor([7, 8]));
    y.backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([1, 1]);
  });

  it('an op that saved its output (exp) refuses a changed output', () => {
    const x = T.tensor([0, 1], { requiresGrad: true });
    const e = x.exp();
    const loss = e.sum();
    e.assign(T.tensor([5, 5]));
    expect(() => loss.backward()).toThrow(
      /backward\(Exp\): the output of Exp, tensor #\d+ \[2\], was modified in place/,
    );
  });

  it('a kernel that read a view (matmul reshapes its operands) keeps the forward-time values', () => {
    // assign gives w new storage; the view matmul recorded still holds the old one, so the
    // gradient is the right one for the forward pass that ran: dL/dx = 1·wᵀ with the old w.
    const x = T.randn([2, 3], { seed: 1, requiresGrad: true });
    const w = T.randn([3, 4], { seed: 2 });
    const old = w.arraySync() as number[][];
    const loss = T.matmul(x, w).sum();
    w.assign(T.zeros([3, 4]));
    loss.backward();
    const rowSums = old.map((r) => r.reduce((a, b) => a + b, 0));
    const g = x.grad!.arraySync() as number[][];
    for (const row of g) row.forEach((v, k) => expect(v).toBeCloseTo(rowSums[k]!, 5));
  });
});
