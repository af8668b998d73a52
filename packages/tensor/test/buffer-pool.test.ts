/**
 * The cpu/wasm backends recycle disposed kernel outputs (backends/cpu/buffer-pool.ts). What must
 * hold: a freed output is reused, a caller's own array is never recycled, and an array stored by
 * two tensors is recycled only after both are gone.
 */
import { describe, expect, it } from 'vitest';
import { Float32BufferPool } from '../src/backends/cpu/buffer-pool.js';
import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import * as T from '../src/index.js';

const BIG = 1 << 16; // 256 KiB of float32, above the pool's minimum size

describe('output buffer pool', () => {
  it('hands a disposed output of the same length out again', () => {
    const backend = new CpuBackend();
    const first = backend.uninitializedFloat32(BIG);
    const id = backend.write(first, 'float32');
    backend.disposeData(id);
    expect(backend.outputBuffers.bytes).toBe(BIG * 4);
    expect(backend.uninitializedFloat32(BIG)).toBe(first);
    expect(backend.outputBuffers.bytes).toBe(0);
    expect(backend.uninitializedFloat32(BIG)).not.toBe(first); // taken: a fresh one now
  });

  it('when full, drops the lengths used least recently, not the newest release', () => {
    // Room for four BIG arrays. A phase that used length BIG fills it; the next phase's length
    // (BIG + 1) must still be pooled (the old pool refused it and every later output was fresh).
    const pool = new Float32BufferPool(4 * BIG * 4, 1024);
    const old = Array.from({ length: 4 }, () => pool.take(BIG));
    for (const a of old) pool.release(a);
    expect(pool.bytes).toBe(4 * BIG * 4);
    const next = pool.take(BIG + 1);
    pool.release(next);
    expect(pool.bytes).toBeLessThanOrEqual(4 * BIG * 4);
    expect(pool.take(BIG + 1)).toBe(next);
    // Two of the four old arrays made room (BIG + 1 floats need more than one BIG array's bytes).
    const kept = [pool.take(BIG), pool.take(BIG), pool.take(BIG)];
    expect(kept.filter((a) => old.includes(a))).toHaveLength(2);
  });

  it('a length taken recently outlives one released earlier and not used since', () => {
    const pool = new Float32BufferPool(3 * BIG * 4, 1024);
    const [a, b] = [pool.take(BIG), pool.take(BIG / 2)];
    pool.release(a);
    pool.release(b); // order of use: BIG, BIG / 2
    const a2 = pool.take(BIG); // BIG used again: now the most recent
    pool.release(a2);
    const c = pool.take(2 * BIG);
    pool.release(c); // over budget by BIG / 2: the BIG / 2 class goes, BIG stays
    expect(pool.take(BIG / 2)).not.toBe(b);
    expect(pool.take(BIG)).toBe(a2);
    expect(pool.take(2 * BIG)).toBe(c);
  });

  it('never pools an array larger than its budget', () => {
    const pool = new Float32BufferPool(BIG * 4, 1024);
    const huge = pool.take(2 * BIG);
    pool.release(huge);
    expect(pool.bytes).toBe(0);
    expect(pool.take(2 * BIG)).not.toBe(huge);
  });

  it('never recycles an array the caller passed in', () => {
    const backend = new CpuBackend();
    const mine = new Float32Array(BIG).fill(7);
    backend.disposeData(backend.write(mine, 'float32'));
    expect(backend.outputBuffers.bytes).toBe(0);
    expect(backend.uninitializedFloat32(BIG)).not.toBe(mine);
  });

  it('keeps an array two tensors store until both are disposed', () => {
    const backend = new CpuBackend();
    const shared = backend.uninitializedFloat32(BIG);
    const a = backend.write(shared, 'float32');
    const b = backend.write(shared, 'float32');
    backend.disposeData(a);
    expect(backend.uninitializedFloat32(BIG)).not.toBe(shared);
    backend.disposeData(b);
    expect(backend.uninitializedFloat32(BIG)).toBe(shared);
  });

  it('through the ops: results stay right while outputs are recycled (wasm)', () => {
    T.setBackend('wasm');
    const x = T.randn([256, 256], { seed: 1 });
    const want = Array.from(T.scope(() => x.softmax(-1).exp()).dataSync());
    for (let i = 0; i < 3; i++) {
      T.scope(() => x.matmul(x).relu()); // outputs freed into the pool
      expect(Array.from(T.scope(() => x.softmax(-1).exp()).dataSync())).toEqual(want);
    }
    x.dispose();
    T.setBackend('cpu');
  });

  it('every kernel that takes a recycled output writes all of it (pool full of NaN first)', () => {
    T.setBackend('cpu');
    const [r, c] = [256, 256]; // outputs of r·c = 64 K floats come from the pool
    const x = T.randn([r, c], { seed: 2 });
    const row = T.randn([1, c], { seed: 3 });
    const idx = T.tensor(new Int32Array(Array.from({ length: r }, (_, i) => (i * 7) % r)));
    const runs: [string, () => T.Tensor][] = [
      ['unary', () => x.exp()],
      ['broadcast binary', () => x.add(row)],
      ['where', () => T.where(x.gt(0), x, row)],
      ['cast', () => x.int().float()],
      ['transpose', () => x.transpose(0, 1)],
      ['broadcastTo', () => row.expand(r, c)],
      ['slice', () => T.pad(x, [0, 8]).slice(1, 4, c + 4)],
      ['concat', () => T.cat([x.narrow(1, 0, 100), x.narrow(1, 100, c - 100)], 1)],
      ['pad (zeros)', () => T.pad(x.narrow(1, 0, c - 8), [4, 4])],
      ['sum', () => T.stack([x, x, x, x]).sum(0)],
      ['max', () => T.stack([x, x]).max(0)],
      ['gather', () => x.indexSelect(0, idx)],
      ['gatherElements', () => x.gather(1, idx.reshape(r, 1).expand(r, c).int())],
    ];
    const before = runs.map(([, f]) => Array.from(T.scope(() => f().dataSync())));
    // Before each run, the pool's most recent arrays of every size the runs use are full of NaN
    // (the pool hands out the last array freed, so a run's own freed outputs would come back first).
    const nan = T.full([r, c], Number.NaN);
    const pollute = () =>
      T.scope(() => {
        for (let i = 0; i < 6; i++) nan.add(0);
        for (let i = 0; i < 6; i++) T.pad(nan, [0, 8]).add(0);
      });
    runs.forEach(([name, f], k) => {
      pollute();
      const got = Array.from(T.scope(() => f().dataSync()));
      expect(
        got.every((v) => !Number.isNaN(v)),
        name,
      ).toBe(true);
      expect(got, name).toEqual(before[k]);
    });
  });
});
