/** The two collections an index holds: image embeddings and caption embeddings. */
export type Collection = 'images' | 'texts';
export const COLLECTIONS: readonly Collection[] = ['images', 'texts'];

/** Index kinds behind `VectorIndex`. */
export type IndexKind = 'exact' | 'hnsw' | 'pgvector';
export const INDEX_KINDS: readonly IndexKind[] = ['exact', 'hnsw', 'pgvector'];

/** What an item points back to: an image file, or a caption (and the image it belongs to, if known). */
export interface ItemPayload {
  path?: string;
  caption?: string;
  /** For a caption: the key of its image in the `images` collection. */
  imageKey?: string;
  imageId?: number;
}

export interface IndexItem {
  collection: Collection;
  /** Unique within its collection: re-adding a key is a no-op (what makes indexing resumable). */
  key: string;
  payload: ItemPayload;
  /** L2-normalised embedding, `dimension` long. */
  vector: Float32Array;
}

/** Stored with every index; an index is only ever searched with the model that built it. */
export interface IndexMeta {
  modelId: string;
  dimension: number;
  kind: IndexKind;
  createdAt: string;
}

export interface SearchHit {
  key: string;
  /** Cosine similarity. */
  score: number;
  payload: ItemPayload;
}

export interface SearchOptions {
  /** Force exact search on an approximate index (for recall checks). */
  exact?: boolean;
}

/**
 * One small interface over every index kind: the embedded exact index (a file), embedded HNSW
 * (usearch) and PostgreSQL + pgvector. `add` is durable when it resolves and ignores keys already
 * present, so an interrupted indexing run resumes without duplicates.
 */
export interface VectorIndex {
  readonly kind: IndexKind;
  readonly meta: IndexMeta;
  /** Where it lives, for messages (a folder, or a database URL without its password). */
  readonly location: string;
  count(collection: Collection): Promise<number>;
  /** The subset of `keys` already in the collection. */
  existingKeys(collection: Collection, keys: readonly string[]): Promise<Set<string>>;
  add(items: readonly IndexItem[]): Promise<void>;
  /** Top `k` by cosine similarity, best first; ties by key. */
  search(
    collection: Collection,
    query: Float32Array,
    k: number,
    options?: SearchOptions,
  ): Promise<SearchHit[]>;
  /** Persist derived structures (e.g. an HNSW graph) and release resources. */
  close(): Promise<void>;
}

/** The index was built by another model or for another width: refused, naming both. */
export class IndexMismatchError extends Error {
  override readonly name = 'IndexMismatchError';
  constructor(
    readonly location: string,
    readonly indexMeta: Pick<IndexMeta, 'modelId' | 'dimension'>,
    readonly expected: Pick<IndexMeta, 'modelId' | 'dimension'>,
  ) {
    super(
      `index ${location} was built with model ${indexMeta.modelId} (dimension ${indexMeta.dimension}), ` +
        `but the bundle is model ${expected.modelId} (dimension ${expected.dimension}); ` +
        're-index with this bundle into another index (or delete the old one)',
    );
  }
}

/** Throws `IndexMismatchError` unless the stored model id and dimension are the expected ones. */
export function checkIndexMeta(
  location: string,
  stored: Pick<IndexMeta, 'modelId' | 'dimension'>,
  expected: Pick<IndexMeta, 'modelId' | 'dimension'>,
): void {
  if (stored.modelId !== expected.modelId || stored.dimension !== expected.dimension) {
    throw new IndexMismatchError(location, stored, expected);
  }
}

/** Indices of the top `k` values of `scores` (best first; ties by `keys`), without sorting all. */
export function topK(scores: Float64Array, keys: readonly string[], k: number): number[] {
  const better = (a: number, b: number) =>
    scores[a]! > scores[b]! || (scores[a] === scores[b] && keys[a]! < keys[b]!);
  const heap: number[] = []; // the current top k, worst first (a min-heap on `better`)
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(heap[p]!, heap[i]!)) break;
      [heap[p], heap[i]] = [heap[i]!, heap[p]!];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < heap.length && better(heap[w]!, heap[l]!)) w = l;
      if (r < heap.length && better(heap[w]!, heap[r]!)) w = r;
      if (w === i) return;
      [heap[w], heap[i]] = [heap[i]!, heap[w]!];
      i = w;
    }
  };
  for (let i = 0; i < scores.length; i++) {
    if (heap.length < k) {
      heap.push(i);
      up(heap.length - 1);
    } else if (k > 0 && better(i, heap[0]!)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => (better(a, b) ? -1 : 1));
}
