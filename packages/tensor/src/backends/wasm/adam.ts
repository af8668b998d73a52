import type { AdamStepAttrs } from '../../kernel-names.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
import type { WasmRuntime } from './wasm-runtime.js';

const f = Math.fround;

/**
 * One fused Adam/AdamW update in WebAssembly SIMD over float32 `param`, `grad`, `expAvg`,
 * `expAvgSq` (no AMSGrad): returns `[3, n]` stacked new param, expAvg, expAvgSq, bit-identical to
 * the cpu kernel (same float32 operations in the same order), or null when the buffers do not fit
 * in wasm memory. It copies 4n floats in and 3n out, and still halves the whole `adamStep` op on a
 * [1024, 256] weight (5.5 → 2.5 ms here): the JS loop pays a float64 sqrt and two divisions per element.
 *
 * ```ts
 * adamStepWasm(runtime, [p, g, m, v], attrs); // Float32Array(3·p.length)
 * ```
 */
export function adamStepWasm(
  runtime: WasmRuntime,
  [p, g, m, v]: readonly Float32Array[],
  o: AdamStepAttrs,
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  const n = p!.length;
  const n4 = Math.ceil(n / 4) * 4;
  const call = new WasmCall(runtime);
  try {
    const inputs = [p!, g!, m!, v!].map((x) => call.input(x));
    // The kernel writes whole vectors of all three outputs in one pass, so [3, n] is written in
    // place only when n is a multiple of 4 (else one slot's spare lanes would overwrite the next's).
    const out = n4 === n ? call.output(3 * n, allocate) : null;
    const base = out ? out.address : call.scratch(3 * n4);
    if (inputs.some((at) => at < 0) || base < 0) return null;
    const slot = (s: number) => base + s * n4 * 4;
    const decayWeights = o.weightDecay !== 0 && o.decoupledWeightDecay;
    const decayGrad = o.weightDecay !== 0 && !o.decoupledWeightDecay;
    runtime.exports.adam_step(
      inputs[0]!,
      inputs[1]!,
      inputs[2]!,
      inputs[3]!,
      slot(0),
      slot(1),
      slot(2),
      n4 / 4,
      decayWeights ? f(1 - o.lr * o.weightDecay) : 1,
      f(o.weightDecay),
      f(1 - o.beta1),
      f(o.beta2),
      f(1 - o.beta2),
      f(Math.sqrt(1 - o.beta2 ** o.step)),
      f(o.eps),
      f(-o.lr / (1 - o.beta1 ** o.step)),
      (o.maximize ? 1 : 0) | (decayGrad ? 2 : 0),
    );
    if (out) return out.values();
    const result = allocate(3 * n);
    const h = runtime.f32;
    for (let s = 0; s < 3; s++) result.set(h.subarray(slot(s) / 4, slot(s) / 4 + n), s * n);
    return result;
  } finally {
    call.end();
  }
}
