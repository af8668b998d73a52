/**
 * Recycles the large Float32Arrays the backend allocated for kernel outputs, the way PyTorch's CPU
 * allocator (and malloc) reuse freed blocks. A fresh 16 MB typed array costs V8 a zeroed
 * allocation, page faults on first touch and external-memory GC pressure: about 10 ms, more than
 * a SIMD softmax over it. A disposed output of the same length is handed out again instead.
 *
 * Only arrays that `take` handed out are ever recycled (never a caller's own array passed to
 * `tensor()`), and only once no tensor stores them any more (the backend counts references).
 *
 * When the pool is full, the lengths used least recently go first. Without that, one phase of a
 * program (pretraining, an evaluation at another batch size) filled the pool with lengths the next
 * phase never asks for, and every later output was a fresh allocation: fine-tuning the VQA app
 * after its pretraining ran 1.3–1.5× slower per step, most of it in allocation and GC.
 */
export class Float32BufferPool {
  /** Free arrays by length; the Map's order is the order lengths were last taken or released. */
  private readonly free = new Map<number, Float32Array[]>();
  private readonly ours = new WeakSet<Float32Array>();
  private pooledBytes = 0;

  /**
   * @param maxBytes most bytes kept for reuse (beyond it, freed arrays go to the GC)
   * @param minBytes arrays below this are left to V8's young generation, which is fast for them
   */
  constructor(
    private readonly maxBytes = 512 * 2 ** 20,
    private readonly minBytes = 64 * 2 ** 10,
  ) {}

  /** A Float32Array of `length` whose contents are unspecified: the caller overwrites all of it. */
  take(length: number): Float32Array {
    const list = this.free.get(length);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= reused.byteLength;
      this.touch(length, list!);
      return reused;
    }
    const fresh = new Float32Array(length);
    if (fresh.byteLength >= this.minBytes) this.ours.add(fresh);
    return fresh;
  }

  /** Offers an array no tensor references any more; kept if it came from `take` and fits. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array) || !this.ours.has(values)) return;
    if (values.byteLength > this.maxBytes) return;
    const list = this.free.get(values.length) ?? [];
    list.push(values);
    this.pooledBytes += values.byteLength;
    this.touch(values.length, list);
    this.evictLeastRecent();
  }

  /** Marks `length` as the most recently used (moves it to the end of the Map's order). */
  private touch(length: number, list: Float32Array[]): void {
    this.free.delete(length);
    if (list.length > 0) this.free.set(length, list);
  }

  /** Drops free arrays of the least recently used lengths until the pool fits its budget. */
  private evictLeastRecent(): void {
    for (const [length, list] of this.free) {
      if (this.pooledBytes <= this.maxBytes) return;
      while (list.length > 0 && this.pooledBytes > this.maxBytes) this.pooledBytes -= list.pop()!.byteLength;
      if (list.length === 0) this.free.delete(length);
    }
  }

  /** Bytes held for reuse (not owned by any tensor). */
  get bytes(): number {
    return this.pooledBytes;
  }

  /** Drops every pooled array (for example before measuring memory). */
  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }
}
