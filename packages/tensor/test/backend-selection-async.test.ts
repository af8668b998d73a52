/**
 * `await ready()` measures asynchronous backends too (WebGPU reads back only asynchronously): a
 * candidate that cannot read synchronously but is the fastest is chosen by ready(). The built-in
 * `wasm` is replaced here by a deliberately slow one and the asynchronous candidate answers its
 * matmul at once, so the outcome does not depend on the machine or its load (a JS 256² matmul took
 * 319 ms in a loaded CI run, more than the slow one's 40 ms delay).
 */
import { expect, it } from 'vitest';
import * as T from '../src/index.js';
import { registerCandidate } from './selection-candidates.js';

it('ready() picks the fastest candidate even if it reads only asynchronously, and makes it current', async () => {
  const lines: string[] = [];
  T.ENGINE.info = (m) => lines.push(m);
  registerCandidate('wasm', { matmulDelayMs: 40 });
  registerCandidate('async-device', { sync: false, instantMatmul: true });
  const chosen = await T.ready();
  expect(chosen, JSON.stringify(T.backendChoice()?.timings)).toBe('async-device');
  expect(T.getBackend()).toBe('async-device');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/backend async-device \(matmul 256²: wasm [\d.]+ ms, async-device [\d.]+ ms\)/);
  expect(await T.ready()).toBe('async-device');
  expect(lines).toHaveLength(1);
  T.setBackend('cpu');
});
