import type { WasmRuntime } from './wasm-runtime.js';

/** Where a call's data starts in a plain (unshared) memory, after the job parameter blocks. */
const DATA_OFFSET = 256;
const LIMIT = 2 ** 32 - 2 ** 16;
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** How a driver gets its output array: `capacity` floats of room, of which the view shows `length`. */
export type Allocate = (length: number, capacity?: number) => Float32Array;

export const plainAllocate: Allocate = (length) => new Float32Array(length);

/**
 * The wasm memory one kernel call works in. On a shared memory (threads) tensors live in the
 * memory's heap, so an operand that is already there is read in place and the result is written
 * straight into the output tensor's block; anything else (a caller's own array, or a plain memory,
 * where growth would detach views) is copied into scratch, as before the heap.
 *
 * ```ts
 * const call = new WasmCall(runtime);
 * const x = call.input(values);          // address of values in wasm memory (−1: does not fit)
 * const out = call.output(n, allocate);  // out.address for the kernel, out.values() after it
 * call.end();                            // frees the scratch
 * ```
 */
export class WasmCall {
  private readonly scratchBlocks: [address: number, bytes: number][] = [];
  private linearTop = DATA_OFFSET;

  constructor(private readonly runtime: WasmRuntime) {}

  /** Whether `x` lies in wasm memory already (it would be read in place). */
  resident(x: ArrayBufferView): boolean {
    return (this.runtime.heap?.offsetOf(x) ?? -1) >= 0;
  }

  /** The address of `floats` of scratch (16-byte aligned, 16 bytes of slack past the end), or −1. */
  scratch(floats: number): number {
    const bytes = floats * 4;
    const heap = this.runtime.heap;
    if (heap) {
      const address = heap.alloc(bytes);
      if (address >= 0) this.scratchBlocks.push([address, bytes]);
      return address;
    }
    const address = this.linearTop;
    const end = address + align16(bytes + 16);
    if (end >= LIMIT || !this.runtime.reserve(end)) return -1;
    this.linearTop = end;
    return address;
  }

  /** The address of `x`'s floats: in place when it lies in wasm memory, else a scratch copy; −1 if it does not fit. */
  input(x: Float32Array): number {
    const at = this.runtime.heap?.offsetOf(x) ?? -1;
    if (at >= 0) return at;
    const address = this.scratch(x.length);
    if (address >= 0) this.runtime.f32.set(x, address / 4);
    return address;
  }

  /**
   * The call's result: written in place when `allocate` gives a view into wasm memory, else into
   * scratch and copied out by `values()`. `capacity` ≥ `length`: room the kernel may write past
   * the result (padding rows). `address` is −1 when it does not fit.
   */
  output(
    length: number,
    allocate: Allocate,
    capacity = length,
  ): { address: number; values: () => Float32Array } {
    const out = allocate(length, capacity);
    const at = this.runtime.heap?.offsetOf(out) ?? -1;
    if (at >= 0) return { address: at, values: () => out };
    const address = this.scratch(capacity);
    return {
      address,
      values: () => {
        out.set(this.runtime.f32.subarray(address / 4, address / 4 + length));
        return out;
      },
    };
  }

  /** Frees the call's scratch (its output stays). */
  end(): void {
    const heap = this.runtime.heap;
    for (const [address, bytes] of this.scratchBlocks) heap?.release(address, bytes);
    this.scratchBlocks.length = 0;
    this.linearTop = DATA_OFFSET;
  }
}
