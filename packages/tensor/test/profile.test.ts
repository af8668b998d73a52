import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

describe('profile', () => {
  it('counts and times each kernel call by input shapes', () => {
    T.setBackend('cpu');
    const a = T.randn([8, 16], { seed: 1 });
    const b = T.randn([16, 4], { seed: 2 });
    const p = T.profile(() => T.scope(() => a.matmul(b).relu().add(a.matmul(b)).sum().item()));
    const mm = p.kernels.find((k) => k.kernel === 'BatchMatMul')!;
    expect(mm.calls).toBe(2);
    expect(mm.shapes).toBe('[1,8,16] [1,16,4]');
    expect(p.kernels.find((k) => k.kernel === 'Relu')?.calls).toBe(1);
    expect(p.kernels.find((k) => k.kernel === 'Sum')?.calls).toBe(1);
    expect(typeof p.result).toBe('number');
    expect(p.kernelMs).toBeGreaterThan(0);
    expect(p.kernelMs).toBeLessThanOrEqual(p.wallMs);
    // slowest first
    for (let i = 1; i < p.kernels.length; i++)
      expect(p.kernels[i - 1]!.totalMs).toBeGreaterThanOrEqual(p.kernels[i]!.totalMs);
  });

  it('stops observing when fn throws, and refuses to nest', () => {
    expect(() =>
      T.profile(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(T.ENGINE.kernelObserver).toBeNull();
    expect(() => T.profile(() => T.profile(() => 1))).toThrow(/nested/);
    expect(T.ENGINE.kernelObserver).toBeNull();
  });
});
