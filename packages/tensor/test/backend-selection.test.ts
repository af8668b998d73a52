/**
 * The default backend is chosen by measurement on first use: each `autoSelect` candidate times a
 * small matmul and the fastest wins; a software GPU emulation never wins; a backend that cannot
 * read synchronously waits for `await ready()`; the choice is logged once; `setBackend` overrides.
 * Candidates here are cpu-storage backends whose matmul is made slow, fast or software on purpose.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { registerCandidate } from './selection-candidates.js';

afterAll(() => T.setBackend('cpu'));

describe('backend selection', () => {
  it('fastestBackend: the smallest time wins, ties go to the earlier, skipped ones never', () => {
    expect(
      T.fastestBackend([
        { name: 'wasm', ms: 2 },
        { name: 'gpu', ms: 1 },
      ]),
    ).toBe('gpu');
    expect(
      T.fastestBackend([
        { name: 'wasm', ms: 1 },
        { name: 'gpu', ms: 1 },
      ]),
    ).toBe('wasm');
    expect(
      T.fastestBackend([
        { name: 'gl', skipped: 'software GPU emulation' },
        { name: 'wasm', ms: 9 },
      ]),
    ).toBe('wasm');
    expect(T.fastestBackend([{ name: 'gl', skipped: 'x' }])).toBeNull();
  });

  it('on first use measures the candidates, picks the fastest real one and logs it once', async () => {
    const lines: string[] = [];
    T.ENGINE.info = (m) => lines.push(m);
    // Slower than wasm by construction; faster than anything but software; one that needs await ready().
    registerCandidate('slow-device', { matmulDelayMs: 40 });
    registerCandidate('software-gl', { instantMatmul: true, isSoftware: () => true });
    registerCandidate('async-device', { sync: false });
    T.registerBackend(
      'broken-device',
      () => {
        throw new Error('no adapter');
      },
      { autoSelect: true },
    );
    expect(T.backendChoice()).toBeNull();
    const x = T.ones([2, 2]); // first use
    expect(x.backend.name).toBe('wasm');
    expect(T.getBackend()).toBe('wasm');
    const timings = Object.fromEntries(T.backendChoice()!.timings.map((t) => [t.name, t]));
    expect(timings['wasm']!.ms).toBeLessThan(timings['slow-device']!.ms!);
    expect(timings['slow-device']!.ms).toBeGreaterThanOrEqual(40);
    expect(timings['software-gl']!.skipped).toBe('software GPU emulation');
    expect(timings['async-device']!.skipped).toMatch(/await ready\(\)/);
    expect(timings['broken-device']!.skipped).toBe('unavailable: no adapter');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[polymodal\] backend wasm \(matmul 256²: wasm [\d.]+ ms, slow-device [\d.]+ ms, /,
    );
    T.scope(() => T.ones([3]).mul(2).dataSync());
    expect(lines).toHaveLength(1);
    // The measurement left no tensors behind.
    expect(T.memory().tensors).toBe(1);
    x.dispose();
  });

  it('setBackend overrides the choice, and ready() then measures nothing', async () => {
    const lines: string[] = [];
    T.ENGINE.info = (m) => lines.push(m);
    T.setBackend('cpu');
    expect(await T.ready()).toBe('cpu');
    expect(T.getBackend()).toBe('cpu');
    expect(lines).toEqual([]);
  });
});
