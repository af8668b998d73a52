/** Bytes below this are the kernels' job parameter blocks (see thread-pool.ts, rows.ts). */
const HEAP_BASE = 4096;
/** Blocks start on 16 bytes (one f32x4) and end 16 bytes past what was asked for (see `alloc`). */
const ALIGN = 16;
const SLACK = 16;
/** Classes below this are one per 16 bytes; above, four per power of two (≤ 25 % waste). */
const SMALL_CLASS_LIMIT = 1024;

/**
 * The size a request of `bytes` is served at: small requests round up to 16 bytes, larger ones to
 * the next of four steps per power of two (1, 1.25, 1.5, 1.75 × 2^k), as jemalloc's classes do, so
 * that the lengths of one training step (which repeat exactly) and of a similar phase (another
 * batch size) share blocks, with at most a quarter of a block unused.
 */
export function sizeClass(bytes: number): number {
  const padded = Math.ceil((bytes + SLACK) / ALIGN) * ALIGN;
  if (padded <= SMALL_CLASS_LIMIT) return padded;
  const step = 2 ** (Math.floor(Math.log2(padded - 1)) - 2);
  return Math.ceil(padded / step) * step;
}

/**
 * An allocator over the backend's shared `WebAssembly.Memory`, so that tensors live where the SIMD
 * kernels compute: a kernel reads its operands and writes its result in place instead of copying
 * them in and out (≈ 0.45 ns per float each way, as much as a memory-bound kernel's own work).
 *
 * Blocks are bump-allocated from the top and, once freed, kept on a free list per size class for
 * the next request of that class. A WebAssembly memory never shrinks, so freed blocks are not
 * given back; the memory's size is the peak of each class's live bytes. A view dropped without
 * `free` (a kernel that took an output and then declined) is reclaimed when the GC collects it.
 *
 * Only for a shared memory: growing it keeps existing views valid (their SharedArrayBuffer stays,
 * only the new one is longer), where growing a plain memory detaches every view into it.
 *
 * ```ts
 * const heap = new WasmHeap(runtime);
 * const x = heap.take(1024)!;   // a Float32Array view into wasm memory
 * heap.offsetOf(x);             // its byte address, for a kernel
 * heap.free(x);
 * ```
 */
export class WasmHeap {
  private top = HEAP_BASE;
  private readonly freeBlocks = new Map<number, number[]>();
  /** Each view `take` handed out: its block's address and class. */
  private readonly blocks = new WeakMap<Float32Array, { address: number; size: number }>();
  /** Every SharedArrayBuffer the memory has been seen through (a new one after each growth). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private readonly reclaim = new FinalizationRegistry<{ address: number; size: number }>((b) =>
    this.freeBlock(b.address, b.size),
  );
  private live = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly grow: (bytes: number) => boolean,
  ) {}

  /**
   * A block of at least `bytes` (+16 bytes a vector loop may run past the end), 16-byte aligned;
   * its address, or −1 when the memory cannot grow that far.
   */
  alloc(bytes: number): number {
    const size = sizeClass(bytes);
    const reused = this.freeBlocks.get(size)?.pop();
    if (reused !== undefined) {
      this.live += size;
      return reused;
    }
    const address = this.top;
    if (address + size >= 2 ** 32 - 2 ** 16 || !this.grow(address + size)) return -1;
    this.top += size;
    this.live += size;
    return address;
  }

  /** Returns a block from `alloc` (its `bytes` as asked) to its class's free list. */
  release(address: number, bytes: number): void {
    this.freeBlock(address, sizeClass(bytes));
  }

  /**
   * A Float32Array of `length` in wasm memory whose block holds at least `capacity` floats (a
   * kernel may write padding rows past `length`); contents unspecified. Null when the memory
   * cannot grow that far (the caller then uses a plain array).
   */
  take(length: number, capacity = length): Float32Array | null {
    const bytes = Math.max(length, capacity) * 4;
    const address = this.alloc(bytes);
    if (address < 0) return null;
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    const view = new Float32Array(buffer, address, length);
    const block = { address, size: sizeClass(bytes) };
    this.blocks.set(view, block);
    this.reclaim.register(view, block, view);
    return view;
  }

  /** Frees a view `take` handed out; false (and nothing done) for any other array. */
  free(view: unknown): boolean {
    if (!(view instanceof Float32Array)) return false;
    const block = this.blocks.get(view);
    if (!block) return false;
    this.blocks.delete(view);
    this.reclaim.unregister(view);
    this.freeBlock(block.address, block.size);
    return true;
  }

  /** Whether `view` is a block from `take` that has not been freed. */
  owns(view: unknown): boolean {
    return view instanceof Float32Array && this.blocks.has(view);
  }

  /** The byte address of `view`'s first float when it lies in this memory (any view, not only blocks), else −1. */
  offsetOf(view: ArrayBufferView): number {
    if (view.buffer === this.memory.buffer) this.buffers.add(view.buffer);
    return this.buffers.has(view.buffer) ? view.byteOffset : -1;
  }

  /** Bytes in blocks now in use, and bytes the heap has taken from the memory (in use + free). */
  get stats(): { liveBytes: number; reservedBytes: number } {
    return { liveBytes: this.live, reservedBytes: this.top - HEAP_BASE };
  }

  private freeBlock(address: number, size: number): void {
    this.live -= size;
    const list = this.freeBlocks.get(size);
    if (list) list.push(address);
    else this.freeBlocks.set(size, [address]);
  }
}
