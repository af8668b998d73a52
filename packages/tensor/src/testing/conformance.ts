import type { Tensor } from '../index.js';
import * as T from '../index.js';
import type { ConformanceCase } from './conformance-cases.js';

/** What one case produced on one backend, read back to the host. */
export interface ConformanceResult {
  outputs: { shape: readonly number[]; dtype: string; values: number[] }[];
  grads: (number[] | null)[];
}

/**
 * Runs a conformance case on `backend` and reads its outputs and input gradients back
 * asynchronously (WebGPU has no synchronous read-back). A backend package runs every case on its
 * backend and on `cpu`, then compares with `conformanceMismatches`.
 *
 * ```ts
 * for (const c of CONFORMANCE_CASES) expect(conformanceMismatches(c, await runConformanceCase(c, 'cpu'), await runConformanceCase(c, 'mine'))).toEqual([]);
 * ```
 */
export async function runConformanceCase(c: ConformanceCase, backend: string): Promise<ConformanceResult> {
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
  const result: ConformanceResult = {
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

/**
 * Every difference between a backend's result and the reference's, within the case's tolerances
 * (atol 1e-4, rtol 1e-3 unless the case says otherwise); empty when they agree. NaN must meet NaN.
 */
export function conformanceMismatches(
  c: ConformanceCase,
  reference: ConformanceResult,
  actual: ConformanceResult,
): string[] {
  const atol = c.atol ?? 1e-4;
  const rtol = c.rtol ?? 1e-3;
  const problems: string[] = [];
  const close = (a: number[], e: number[], what: string) => {
    if (a.length !== e.length)
      return void problems.push(`${what}: ${a.length} values, reference ${e.length}`);
    for (let i = 0; i < e.length; i++) {
      const x = a[i]!;
      const y = e[i]!;
      const ok = Number.isNaN(y) ? Number.isNaN(x) : x === y || Math.abs(x - y) <= atol + rtol * Math.abs(y);
      if (!ok) return void problems.push(`${what}[${i}]: got ${x}, reference ${y}`);
    }
  };
  if (actual.outputs.length !== reference.outputs.length)
    problems.push(`${actual.outputs.length} outputs, reference ${reference.outputs.length}`);
  actual.outputs.forEach((o, k) => {
    const ref = reference.outputs[k];
    if (!ref) return;
    if (o.shape.join() !== ref.shape.join())
      problems.push(`output ${k} shape [${o.shape}], reference [${ref.shape}]`);
    if (o.dtype !== ref.dtype) problems.push(`output ${k} dtype ${o.dtype}, reference ${ref.dtype}`);
    close(o.values, ref.values, `output ${k}`);
  });
  actual.grads.forEach((g, k) => {
    const ref = reference.grads[k] ?? null;
    if ((g === null) !== (ref === null))
      problems.push(`gradient ${k}: ${g ? 'present' : 'missing'}, reference ${ref ? 'present' : 'missing'}`);
    else if (g && ref) close(g, ref, `gradient of input ${k}`);
  });
  return problems;
}
