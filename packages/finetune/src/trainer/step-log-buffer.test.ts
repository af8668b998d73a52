import { ArgumentError, memory, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { StepLogBuffer } from './step-log-buffer.js';

const end = (step: number) => ({ step, epoch: 0, lr: 0.1 });

describe('StepLogBuffer', () => {
  it('reads the queued rows in one go, a NaN staying in its own row, at a constant size', async () => {
    const buffer = new StepLogBuffer(4);
    const before = memory();
    const sizes: number[] = [];
    for (const [i, row] of [
      [1, 2, 3],
      [Number.NaN, 0.5, Number.POSITIVE_INFINITY],
      [4, 5, 6],
    ].entries()) {
      const t = tensor(row);
      buffer.push(end(i + 1), t);
      t.dispose();
      sizes.push(memory().bytes - before.bytes);
    }
    expect(new Set(sizes)).toEqual(new Set([4 * 3 * 4])); // one [4, 3] float32 tensor throughout
    expect(buffer.size).toBe(3);
    const logs = await buffer.read(['a']); // total, a, then the gradient norm
    expect(logs).toEqual([
      { step: 1, epoch: 0, lr: 0.1, loss: 1, losses: { a: 2 }, gradNorm: 3 },
      {
        step: 2,
        epoch: 0,
        lr: 0.1,
        loss: Number.NaN,
        losses: { a: 0.5 },
        gradNorm: Number.POSITIVE_INFINITY,
      },
      { step: 3, epoch: 0, lr: 0.1, loss: 4, losses: { a: 5 }, gradNorm: 6 },
    ]);
    expect(buffer.size).toBe(0);
    expect(memory().tensors).toBe(before.tensors);
    expect(await buffer.read(['a'])).toEqual([]);
  });

  it('refuses a row past its capacity or of another width, and clears unread', () => {
    const buffer = new StepLogBuffer(1);
    buffer.push(end(1), tensor([1, 2]));
    expect(() => buffer.push(end(2), tensor([1, 2]))).toThrow(/holds 1 steps; read it first/);
    buffer.clear();
    buffer.push(end(1), tensor([1, 2]));
    buffer.clear();
    const wide = new StepLogBuffer(2);
    wide.push(end(1), tensor([1, 2]));
    expect(() => wide.push(end(2), tensor([1, 2, 3]))).toThrow(ArgumentError);
    expect(() => new StepLogBuffer(0)).toThrow(/capacity/);
  });
});
