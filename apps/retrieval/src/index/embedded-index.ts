import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic } from '@polymodal/app-kit';
import usearch from 'usearch';
import {
  COLLECTIONS,
  type Collection,
  checkIndexMeta,
  type IndexItem,
  type IndexMeta,
  type SearchHit,
  type SearchOptions,
  topK,
  type VectorIndex,
} from './vector-index.js';
import { type CollectionVectors, VectorLog } from './vector-log.js';

const { Index: UsearchIndex, MetricKind, ScalarKind } = usearch;
type Graph = InstanceType<typeof UsearchIndex>;

/** HNSW settings (Malkov & Yashunin 2018): M = 16 links, ef = 128 while building and searching. */
export const HNSW_DEFAULTS = { connectivity: 16, expansionAdd: 128, expansionSearch: 128 } as const;

export interface EmbeddedIndexOptions {
  /** Folder of the index (created if missing). */
  dir: string;
  kind: 'exact' | 'hnsw';
  modelId: string;
  dimension: number;
  /** HNSW search breadth (ef). Default 128. */
  expansionSearch?: number;
}

/** Exact top-k by cosine similarity (vectors are L2-normalised, so a dot product) in float64. */
export function exactSearch(vectors: CollectionVectors, query: Float32Array, k: number): SearchHit[] {
  const n = vectors.size;
  const d = vectors.dimension;
  const m = vectors.matrix();
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0, at = i * d; j < d; j++, at++) s += m[at]! * query[j]!;
    scores[i] = s;
  }
  return topK(scores, vectors.keys, Math.min(k, n)).map((i) => ({
    key: vectors.keys[i]!,
    score: scores[i]!,
    payload: vectors.payloads[i]!,
  }));
}

/**
 * The embedded index: no server, everything in one folder. `meta.json` (model id, dimension,
 * kind) and `vectors.log` (an append-only, checksummed record of every item: the source of truth)
 * hold the data; kind `exact` scans it, kind `hnsw` also keeps a usearch HNSW graph per collection
 * (`hnsw-<collection>.usearch`, saved on `close()`, rebuilt or topped up from the log when it is
 * missing or behind — a crash loses graph work, never data).
 *
 * ```ts
 * const index = await EmbeddedIndex.open({ dir: 'runs/retrieval/index', kind: 'hnsw', modelId, dimension: 64 });
 * await index.add(items);
 * const hits = await index.search('images', queryVector, 10);
 * await index.close();
 * ```
 */
export class EmbeddedIndex implements VectorIndex {
  readonly kind: 'exact' | 'hnsw';
  private readonly graphs = new Map<Collection, Graph>();
  /** Rows of each collection already in its graph (rows are added in log order). */
  private readonly inGraph = new Map<Collection, number>();
  private dirty = new Set<Collection>();

  private constructor(
    readonly location: string,
    readonly meta: IndexMeta,
    private readonly log: VectorLog,
    private readonly expansionSearch: number,
  ) {
    this.kind = meta.kind as 'exact' | 'hnsw';
  }

  static async open(options: EmbeddedIndexOptions): Promise<EmbeddedIndex> {
    const { dir } = options;
    await mkdir(dir, { recursive: true });
    const metaPath = join(dir, 'meta.json');
    let meta: IndexMeta;
    if (existsSync(metaPath)) {
      meta = await readJsonFile<IndexMeta>(metaPath, 'index metadata');
      checkIndexMeta(dir, meta, options);
      if (meta.kind !== options.kind && meta.kind !== 'exact' && meta.kind !== 'hnsw') {
        throw new Error(`index ${dir} is of kind '${meta.kind}', not an embedded index`);
      }
      // Both embedded kinds share the log: an exact index can gain a graph and the other way round.
      meta = { ...meta, kind: options.kind };
    } else {
      meta = {
        modelId: options.modelId,
        dimension: options.dimension,
        kind: options.kind,
        createdAt: new Date().toISOString(),
      };
      await writeJsonAtomic(metaPath, meta);
    }
    const log = VectorLog.open(join(dir, 'vectors.log'), meta.dimension);
    const index = new EmbeddedIndex(dir, meta, log, options.expansionSearch ?? HNSW_DEFAULTS.expansionSearch);
    if (meta.kind === 'hnsw') for (const c of COLLECTIONS) await index.loadGraph(c);
    return index;
  }

  /** Bytes of a torn record the log dropped on opening (after a crash mid-write). */
  get recoveredBytes(): number {
    return this.log.droppedBytes;
  }

  private graphPath(c: Collection): string {
    return join(this.location, `hnsw-${c}.usearch`);
  }

  private newGraph(): Graph {
    return new UsearchIndex({
      dimensions: this.meta.dimension,
      metric: MetricKind.Cos,
      quantization: ScalarKind.F32,
      connectivity: HNSW_DEFAULTS.connectivity,
      expansion_add: HNSW_DEFAULTS.expansionAdd,
      expansion_search: this.expansionSearch,
      multi: false,
    });
  }

  private async loadGraph(c: Collection): Promise<void> {
    const rows = this.log.collections[c];
    let graph = this.newGraph();
    let have = 0;
    const path = this.graphPath(c);
    if (existsSync(path)) {
      try {
        graph.load(path);
        have = graph.size();
        // A graph is only usable if it covers a prefix of the log (keys are row numbers).
        if (have > rows.size || (have > 0 && !graph.contains(BigInt(have - 1)))) throw new Error('stale');
      } catch {
        graph = this.newGraph();
        have = 0;
      }
    }
    this.graphs.set(c, graph);
    this.inGraph.set(c, have);
    this.topUp(c);
  }

  /** Adds the log rows the graph does not have yet. */
  private topUp(c: Collection): void {
    const graph = this.graphs.get(c);
    if (!graph) return;
    const rows = this.log.collections[c];
    const from = this.inGraph.get(c) ?? 0;
    if (from >= rows.size) return;
    const d = this.meta.dimension;
    const keys = new BigUint64Array(rows.size - from);
    for (let i = from; i < rows.size; i++) keys[i - from] = BigInt(i);
    graph.add(keys, rows.matrix().slice(from * d, rows.size * d), 1);
    this.inGraph.set(c, rows.size);
    this.dirty.add(c);
  }

  async count(collection: Collection): Promise<number> {
    return this.log.collections[collection].size;
  }

  async existingKeys(collection: Collection, keys: readonly string[]): Promise<Set<string>> {
    const have = this.log.collections[collection].positions;
    return new Set(keys.filter((k) => have.has(k)));
  }

  async add(items: readonly IndexItem[]): Promise<void> {
    this.log.append(items);
    if (this.kind === 'hnsw') for (const c of COLLECTIONS) this.topUp(c);
  }

  async search(
    collection: Collection,
    query: Float32Array,
    k: number,
    options: SearchOptions = {},
  ): Promise<SearchHit[]> {
    const rows = this.log.collections[collection];
    if (rows.size === 0 || k <= 0) return [];
    const graph = this.graphs.get(collection);
    if (this.kind === 'exact' || options.exact || !graph) return exactSearch(rows, query, k);
    const found = graph.search(query, Math.min(k, rows.size), 1);
    const hits: SearchHit[] = [];
    for (let i = 0; i < found.keys.length; i++) {
      const row = Number(found.keys[i]);
      hits.push({ key: rows.keys[row]!, score: 1 - found.distances[i]!, payload: rows.payloads[row]! });
    }
    return hits.sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : 1));
  }

  /** Saves changed HNSW graphs (atomically: a temp file renamed over the old one). */
  async flush(): Promise<void> {
    for (const c of this.dirty) {
      const graph = this.graphs.get(c)!;
      const path = this.graphPath(c);
      const tmp = `${path}.${process.pid}.tmp`;
      graph.save(tmp);
      // usearch writes the file itself; read it back once so a torn save is never renamed in.
      if ((await readFile(tmp)).length === 0) {
        await rm(tmp, { force: true });
        throw new Error(`saving the HNSW graph to ${path} wrote nothing`);
      }
      await rename(tmp, path);
    }
    this.dirty.clear();
  }

  async close(): Promise<void> {
    if (this.kind === 'hnsw') await this.flush();
    this.log.close();
  }
}
