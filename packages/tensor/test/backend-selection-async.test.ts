/**
 * `await ready()` measures asynchronous backends too (WebGPU reads back only asynchronously): a
 * candidate that cannot read synchronously but is the fastest is chosen by ready(). The built-in
 * `wasm` is replaced here by a deliberately slow one, so the outcome does not depend on the machine.
 */
import { expect, it } from 'vitest';
import * as T from '../src/index.js';
import { registerCandidate } from './selection-candidates.js';

it('ready() picks the fastest candidate even if it reads only asynchronously, and makes it current', async () => {
  const lines: string[] = [];
  T.ENGINE.info = (m) => lines.push(m);
  registerCandidate('wasm', { matmulDelayMs: 40 });
  registerCandidate('async-device', { sync: false });
  const chosen = await T.ready();
  expect(chosen, JSON.stringify(T.backendChoice()?.timings)).toBe('async-device');
  expect(T.getBackend()).toBe('async-device');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/backend async-device \(matmul 256²: wasm [\d.]+ ms, async-device [\d.]+ ms\)/);
  expect(await T.ready()).toBe('async-device');
  expect(lines).toHaveLength(1);
  T.setBackend('cpu');
});
