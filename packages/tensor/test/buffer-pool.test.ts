/**
 * The cpu/wasm backends recycle disposed kernel outputs (backends/cpu/buffer-pool.ts). What must
 * hold: a freed output is reused, a caller's own array is never recycled, and an array stored by
 * two tensors is recycled only after both are gone.
 */
import { describe, expect, it } from 'vitest';
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
});
