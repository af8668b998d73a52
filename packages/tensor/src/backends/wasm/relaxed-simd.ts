/**
 * WebAssembly relaxed SIMD (`f32x4.relaxed_madd`: a fused multiply-add where the CPU has one) doubles
 * the GEMM micro-kernel's peak on x86 CPUs with FMA3. Browsers ship it (Chrome 114+, Firefox 120+)
 * and Node 22+ enables it by default; Node 20's V8 has it behind `--experimental-wasm-relaxed-simd`,
 * a flag that only widens what the wasm validator accepts, so we turn it on at runtime there.
 * Set `POLYMODAL_WASM_FMA=0` to keep the plain-SIMD kernels (for example to compare them).
 */

/** `(func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))` */
const PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32,
  1, 32, 2, 253, 133, 2, 11,
]);

interface NodeV8 {
  setFlagsFromString(flags: string): void;
}

function envDisables(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.POLYMODAL_WASM_FMA === '0';
}

let cached: boolean | undefined;

/** Whether this runtime compiles relaxed-SIMD modules (enabling V8's flag in Node 20 if needed). */
export function relaxedSimdAvailable(): boolean {
  if (cached !== undefined) return cached;
  if (envDisables()) return (cached = false);
  if (WebAssembly.validate(PROBE)) return (cached = true);
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const v8 = proc?.versions?.node ? (proc.getBuiltinModule?.('node:v8') as NodeV8 | undefined) : undefined;
  try {
    v8?.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // not settable here: stay on plain SIMD
  }
  return (cached = WebAssembly.validate(PROBE));
}
