import { arange, memory } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { patchify } from './patchify.js';

describe('patchify', () => {
  it('[N,C,H,W] → [N, (H/p)(W/p), C·p·p], row-major patches flattened as (C, p, p)', () => {
    // x[n,c,h,w] = n·32 + c·16 + h·4 + w (N=2, C=2, H=W=4), p = 2.
    const x = arange(64).reshape([2, 2, 4, 4]);
    const p = patchify(x, 2);
    expect(p.shape).toEqual([2, 4, 8]);
    const a = p.arraySync() as number[][][];
    // Patch (row 0, col 1) of image 0: h ∈ {0,1}, w ∈ {2,3}; channel 0 then channel 1.
    expect(a[0]![1]).toEqual([2, 3, 6, 7, 18, 19, 22, 23]);
    // Patch (row 1, col 0) of image 1: 32 + h·4 + w for h ∈ {2,3}, w ∈ {0,1}.
    expect(a[1]![2]).toEqual([40, 41, 44, 45, 56, 57, 60, 61]);
    expect(patchify(x.reshape([4, 4, 4]).narrow(0, 0, 3), 2).shape).toEqual([4, 12]);
  });

  it('does not leak intermediates and rejects bad shapes', () => {
    const x = arange(48).reshape([1, 3, 4, 4]);
    const before = memory().tensors;
    patchify(x, 2).dispose();
    expect(memory().tensors).toBe(before);
    expect(() => patchify(x, 3)).toThrow(/not divisible by patchSize 3/);
    expect(() => patchify(arange(4), 2)).toThrow(/\[N, C, H, W\]/);
  });
});
