/**
 * One conformance suite for every backend: each op's forward output and input gradients must match
 * the cpu reference backend within float32 tolerances. Backends come from POLYMODAL_BACKENDS
 * (comma-separated) or default to those that run in plain Node.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../src/index.js';
import * as T from '../src/index.js';
import { CASES, type ConformanceCase } from './conformance-cases.js';

const BACKENDS = (process.env.POLYMODAL_BACKENDS ?? 'gpujs-webasm,gpujs-cpu,wasm').split(',').filter(Boolean);

interface Result {
  outputs: { shape: readonly number[]; dtype: string; values: number[] }[];
  grads: (number[] | null)[];
}

/** Runs a case and reads results back asynchronously (WebGPU has no synchronous read-back). */
async function runCase(c: ConformanceCase, backend: string): Promise<Result> {
  T.setBackend(backend);
  const { outs, inputs } = T.scope(() => {
    const inputs = c
      .inputs()
      .map((x) => (x.dtype === 'float32' && c.backward !== false ? x.requiresGrad_() : x));
    const out = c.run(...inputs);
    const outs = Array.isArray(out) ? out : [out];
    if (c.backward !== false && outs.some((o) => o.requiresGrad)) {
      // Weighted sum with fixed weights, so every output cell gets a distinct upstream gradient.
      const loss = outs
        .filter((o) => o.requiresGrad)
        .map((o, k) => o.mul(T.randn(o.shape, { seed: 1000 + k })).sum())
        .reduce((a, b) => a.add(b));
      loss.backward();
    }
    return { outs, inputs };
  });
  const result: Result = {
    outputs: await Promise.all(
      outs.map(async (o) => ({ shape: o.shape, dtype: o.dtype, values: Array.from(await o.data()) })),
    ),
    grads: await Promise.all(
      inputs.map(async (x: Tensor) => (x.grad ? Array.from(await x.grad.data()) : null)),
    ),
  };
  for (const t of [...outs, ...inputs]) {
    t.grad?.dispose();
    t.dispose();
  }
  return result;
}

function expectClose(actual: number[], expected: number[], atol: number, rtol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      expect(Number.isNaN(a), `${what}[${i}]`).toBe(true);
      continue;
    }
    const ok = a === e || Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) expect.fail(`${what}[${i}]: got ${a}, reference ${e}`);
  }
}

afterAll(() => T.setBackend('cpu'));

for (const backend of BACKENDS) {
  describe(`conformance on ${backend}`, () => {
    for (const c of CASES) {
      it(c.name, async () => {
        const reference = await runCase(c, 'cpu');
        const actual = await runCase(c, backend);
        const atol = c.atol ?? 1e-4;
        const rtol = c.rtol ?? 1e-3;
        expect(actual.outputs.length).toBe(reference.outputs.length);
        actual.outputs.forEach((o, k) => {
          const ref = reference.outputs[k]!;
          expect(o.shape, `output ${k} shape`).toEqual(ref.shape);
          expect(o.dtype, `output ${k} dtype`).toBe(ref.dtype);
          expectClose(o.values, ref.values, atol, rtol, `output ${k}`);
        });
        actual.grads.forEach((g, k) => {
          const ref = reference.grads[k]!;
          expect(g === null, `gradient ${k} presence`).toBe(ref === null);
          if (g && ref) expectClose(g, ref, atol, rtol, `gradient of input ${k}`);
        });
      });
    }
  });
}
