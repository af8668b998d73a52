import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

afterAll(() => T.setBackend('cpu'));

describe('registerNoSyncBackend', () => {
  it('computes like cpu, refuses sync reads like WebGPU, and counts async reads', async () => {
    const device = T.registerNoSyncBackend('no-sync-test');
    T.setBackend('cpu');
    const want = T.crossEntropy(T.tensor([[1, 2, 3]]), T.tensor([2], { dtype: 'int32' })).item();
    T.setBackend('no-sync-test');
    const loss = T.crossEntropy(T.tensor([[1, 2, 3]]), T.tensor([2], { dtype: 'int32' }));
    expect(() => loss.item()).toThrow(T.BackendError);
    expect(() => loss.dataSync()).toThrow(/cannot read synchronously/);
    expect(device.reads).toBe(0);
    expect((await loss.data())[0]).toBe(want); // the same cpu kernels, so the same bits
    expect(device.reads).toBe(1);
    device.resetReads();
    expect(device.reads).toBe(0);
    // Ops skip their host-side value checks on it, as on a device: an out-of-range class is not
    // caught before the kernel (on cpu it is), and nothing was read.
    const bad = () => T.crossEntropy(T.tensor([[1, 2]]), T.tensor([5], { dtype: 'int32' }));
    expect(bad).not.toThrow();
    expect(device.reads).toBe(0);
    T.setBackend('cpu');
    expect(bad).toThrow(/target 5 at position 0 is out of range for 2 classes/);
  });

  it('isAnomalyEnabled follows setAnomalyMode and withAnomalyMode', () => {
    expect(T.isAnomalyEnabled()).toBe(false);
    expect(T.withAnomalyMode(() => T.isAnomalyEnabled())).toBe(true);
    T.setAnomalyMode(true);
    expect(T.isAnomalyEnabled()).toBe(true);
    T.setAnomalyMode(false);
    expect(T.isAnomalyEnabled()).toBe(false);
  });
});
