import { MAX_POOL_TASKS, type WasmThreadPool } from './thread-pool.js';
import { type Allocate, plainAllocate, WasmCall } from './wasm-call.js';
import { TAPS_PARAMS } from './wasm-module-bytes.js';
import type { WasmRuntime } from './wasm-runtime.js';

const PARAMS_OFFSET = 0;
/** Below this many floats moved, one thread does it faster than waking the pool. */
const MIN_THREADED_FLOATS = 1 << 16;

/** A channels-last im2col job: the tap table of `images` images, `channels` floats per tap. */
export interface TapsProblem {
  /** Per tap, the float offset of its C channels in the `[N, H, W, C]` image tensor, −1 for padding. */
  offsets: Int32Array;
  channels: number;
  images: number;
  /** Floats of one image in the `[N, H, W, C]` tensor. */
  imageFloats: number;
}

/**
 * Channels-last im2col (`gather`: taps → column rows) and its adjoint (`scatter`: column rows
 * added back into the image tensor) in WebAssembly SIMD, over the pool: gathers split by taps,
 * scatters by whole images, so no two threads add into one pixel and each pixel sums its taps in
 * table order, as the JS kernel does (bit-identical results). Null where C is not a multiple of 4
 * or the data does not fit; the caller then runs the JS kernel.
 *
 * ```ts
 * taps(runtime, pool, 'gather', x, problem); // Float32Array(offsets.length · C)
 * ```
 */
export function taps(
  runtime: WasmRuntime,
  pool: WasmThreadPool | null,
  op: 'gather' | 'scatter',
  src: Float32Array,
  { offsets, channels: c, images, imageFloats }: TapsProblem,
  allocate: Allocate = plainAllocate,
): Float32Array | null {
  if (c % 4 !== 0 || images === 0 || offsets.length === 0) return null;
  const length = op === 'gather' ? offsets.length * c : images * imageFloats;
  const call = new WasmCall(runtime);
  try {
    const srcAt = call.input(src);
    const offsetsAt = call.scratch(offsets.length);
    const out = call.output(length, allocate);
    if (srcAt < 0 || offsetsAt < 0 || out.address < 0) return null;
    runtime.i32.set(offsets, offsetsAt / 4);
    const threads = pool && length >= MIN_THREADED_FLOATS ? pool.size + 1 : 1;
    // Gathers in taps, scatters in whole images; a few tasks per thread so that a late one evens out.
    const units = op === 'gather' ? offsets.length : images;
    const tasks = Math.min(units, 4 * threads, MAX_POOL_TASKS);
    const chunk = Math.ceil(units / tasks);
    const i32 = runtime.i32;
    const set = (key: keyof typeof TAPS_PARAMS, value: number) => {
      i32[(PARAMS_OFFSET + TAPS_PARAMS[key]) / 4] = value;
    };
    set('op', op === 'gather' ? 0 : 1);
    set('src', srcAt);
    set('dst', out.address);
    set('offsets', offsetsAt);
    set('c', c);
    set('chunk', chunk);
    set('units', units);
    set('tapsPerUnit', op === 'gather' ? 1 : offsets.length / images);
    set('zeroBytes', op === 'gather' ? 0 : imageFloats * 4);
    const total = Math.ceil(units / chunk);
    if (!(threads > 1 && total > 1 && pool!.run(PARAMS_OFFSET, total, 'taps_task'))) {
      for (let t = 0; t < total; t++) runtime.exports.taps_task(PARAMS_OFFSET, t);
    }
    return out.values();
  } finally {
    call.end();
  }
}
