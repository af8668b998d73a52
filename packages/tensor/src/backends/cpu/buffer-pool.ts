/**
 * Recycles the large Float32Arrays the backend allocated for kernel outputs, the way PyTorch's CPU
 * allocator (and malloc) reuse freed blocks. A fresh 16 MB typed array costs V8 a zeroed
 * allocation, page faults on first touch and external-memory GC pressure: about 10 ms, more than
 * a SIMD softmax over it. A disposed output of the same length is handed out again instead.
 *
 * Only arrays that `take` handed out are ever recycled (never a caller's own array passed to
 * `tensor()`), and only once no tensor stores them any more (the backend counts references).
 */
export class Float32BufferPool {
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
      return reused;
    }
    const fresh = new Float32Array(length);
    if (fresh.byteLength >= this.minBytes) this.ours.add(fresh);
    return fresh;
  }

  /** Offers an array no tensor references any more; kept if it came from `take` and fits. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array) || !this.ours.has(values)) return;
    if (this.pooledBytes + values.byteLength > this.maxBytes) return;
    let list = this.free.get(values.length);
    if (!list) this.free.set(values.length, (list = []));
    list.push(values);
    this.pooledBytes += values.byteLength;
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
