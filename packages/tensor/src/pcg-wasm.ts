/**
 * Bulk PCG-XSH-RR draws in WebAssembly: the same stream as `Generator.nextUint32` (the JS version
 * needs sixteen-bit limbs for the 64-bit multiply; wasm has i64), about 20× faster, which matters for
 * dropout masks (millions of draws per training step). Plain wasm, no SIMD or threads, so it runs
 * wherever WebAssembly does; where it does not, `Generator` draws in JS. Compiled from this text
 * with wabt (`parseWat(text).toBinary({})`):
 *
 * ```wat
 * (module
 *   (memory (export "memory") 1)
 *   (global $state (mut i64) (i64.const 0))
 *   (func (export "set_state") (param $hi i32) (param $lo i32)
 *     (global.set $state (i64.or (i64.shl (i64.extend_i32_u (local.get $hi)) (i64.const 32))
 *                                (i64.extend_i32_u (local.get $lo)))))
 *   (func (export "state_hi") (result i32) (i32.wrap_i64 (i64.shr_u (global.get $state) (i64.const 32))))
 *   (func (export "state_lo") (result i32) (i32.wrap_i64 (global.get $state)))
 *   (func (export "fill_uniform") (param $count i32)
 *     (local $p i32) (local $end i32) (local $old i64) (local $x i32)
 *     (local.set $end (i32.shl (local.get $count) (i32.const 2)))
 *     (block $done
 *       (loop $next
 *         (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
 *         (local.set $old (global.get $state))
 *         (global.set $state (i64.add (i64.mul (local.get $old) (i64.const 6364136223846793005))
 *                                     (i64.const 1442695040888963407)))
 *         (local.set $x (i32.rotr
 *           (i32.wrap_i64 (i64.shr_u (i64.xor (i64.shr_u (local.get $old) (i64.const 18)) (local.get $old)) (i64.const 27)))
 *           (i32.wrap_i64 (i64.shr_u (local.get $old) (i64.const 59)))))
 *         (f32.store (local.get $p)
 *           (f32.mul (f32.convert_i32_u (i32.shr_u (local.get $x) (i32.const 8))) (f32.const 0x1p-24)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 4)))
 *         (br $next)))))
 * ```
 */
const PCG_WASM =
  'AGFzbQEAAAABDgNgAn9/AGAAAX9gAX8AAwUEAAEBAgUDAQABBgYBfgFCAAsHOwUGbWVtb3J5AgAJc2V0X3N0YXRlAAAIc3RhdGVfaGkAAQhzdGF0ZV9sbwACDGZpbGxfdW5pZm9ybQADCooBBA4AIACtQiCGIAGthCQACwgAIwBCIIinCwUAIwCnC2oDAn8BfgF/IABBAnQhAgJAA0AgASACTw0BIwAhAyADQq3+1eTUhf2o2AB+Qs+Cnrvv796CFHwkACADQhKIIAOFQhuIpyADQjuIp3ghBCABIARBCHazQwAAgDOUOAIAIAFBBGohAQwACwsL';

interface PcgExports {
  memory: WebAssembly.Memory;
  set_state(hi: number, lo: number): void;
  state_hi(): number;
  state_lo(): number;
  fill_uniform(count: number): void;
}

/** Floats per call: the module's one 64 KiB page. */
export const PCG_CHUNK = 16384;

let instance: PcgExports | null | undefined;

/** The compiled module, or null where WebAssembly is unavailable. */
export function pcgWasm(): PcgExports | null {
  if (instance !== undefined) return instance;
  try {
    const bytes = Uint8Array.from(atob(PCG_WASM), (c) => c.charCodeAt(0));
    instance = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as PcgExports;
  } catch {
    instance = null;
  }
  return instance;
}
