import type { SqlClient } from './sql-client.js';
import {
  COLLECTIONS,
  type Collection,
  checkIndexMeta,
  type IndexItem,
  type IndexMeta,
  type ItemPayload,
  type SearchHit,
  type SearchOptions,
  type VectorIndex,
} from './vector-index.js';

/** Table prefixes are identifiers (never parameters), so they are checked, then quoted. */
const TABLE = /^[a-z_][a-z0-9_]{0,40}$/;

export interface PgVectorIndexOptions {
  /** Table name prefix: `<prefix>_meta`, `<prefix>_images`, `<prefix>_texts`. Default `polymodal_retrieval`. */
  table?: string;
  modelId: string;
  dimension: number;
  /** Build pgvector HNSW indexes (`vector_cosine_ops`) on the embeddings. Default true. */
  hnsw?: boolean;
  /** `hnsw.ef_search` for approximate queries. Default 128. */
  efSearch?: number;
  /** Shown in messages instead of the connection (e.g. the redacted URL). */
  location: string;
}

/** `[0.1,0.2,…]`, pgvector's text form (shortest round-trip decimal of each float32). */
export function vectorLiteral(v: Float32Array): string {
  return `[${Array.from(v, (x) => String(x)).join(',')}]`;
}

/**
 * PostgreSQL + pgvector behind `VectorIndex`: one table per collection (`key` unique, `payload`
 * jsonb, `embedding vector(D)`) and a metadata table holding the model id and dimension. Every
 * value travels as a query parameter — captions and paths never become SQL text; only the table
 * prefix is spliced in, after a strict identifier check. `add` inserts a batch in one transaction
 * with `ON CONFLICT (key) DO NOTHING` (resumable, no duplicates). Search orders by cosine distance
 * (`<=>`): exact (`enable_indexscan = off`, ties by key) or through the HNSW index
 * (`vector_cosine_ops`, m = 16, ef_construction = 128, `hnsw.ef_search`).
 *
 * ```ts
 * const index = await PgVectorIndex.open(await connectSql(url), { modelId, dimension: 64, location: url });
 * await index.add(items);
 * await index.search('images', query, 10, { exact: true });
 * ```
 */
export class PgVectorIndex implements VectorIndex {
  readonly kind = 'pgvector' as const;
  readonly location: string;

  private constructor(
    private readonly db: SqlClient,
    readonly meta: IndexMeta,
    private readonly prefix: string,
    private readonly efSearch: number,
  ) {
    this.location = `${meta.kind}:${prefix}`;
  }

  private table(c: Collection): string {
    return `"${this.prefix}_${c}"`;
  }

  static async open(db: SqlClient, options: PgVectorIndexOptions): Promise<PgVectorIndex> {
    const prefix = options.table ?? 'polymodal_retrieval';
    if (!TABLE.test(prefix)) {
      throw new Error(`table prefix '${prefix}' must match ${TABLE} (lower-case letters, digits, _)`);
    }
    const d = options.dimension;
    if (!Number.isInteger(d) || d < 1 || d > 16000) throw new Error(`dimension must be 1..16000, got ${d}`);
    await db.query('CREATE EXTENSION IF NOT EXISTS vector');
    await db.query(
      `CREATE TABLE IF NOT EXISTS "${prefix}_meta" (key text PRIMARY KEY, value jsonb NOT NULL)`,
    );
    const found = await db.query<{ value: IndexMeta }>(`SELECT value FROM "${prefix}_meta" WHERE key = $1`, [
      'index',
    ]);
    let meta: IndexMeta;
    if (found.rows[0]) {
      meta = found.rows[0].value;
      checkIndexMeta(`${options.location} (table ${prefix})`, meta, options);
    } else {
      meta = {
        modelId: options.modelId,
        dimension: d,
        kind: 'pgvector',
        createdAt: new Date().toISOString(),
      };
      await db.query(
        `INSERT INTO "${prefix}_meta" (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
        ['index', JSON.stringify(meta)],
      );
    }
    for (const c of COLLECTIONS) {
      const t = `"${prefix}_${c}"`;
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${t} (id bigserial PRIMARY KEY, key text NOT NULL UNIQUE, payload jsonb NOT NULL, embedding vector(${d}) NOT NULL)`,
      );
      if (options.hnsw ?? true) {
        await db.query(
          `CREATE INDEX IF NOT EXISTS "${prefix}_${c}_hnsw" ON ${t} USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 128)`,
        );
      }
    }
    const index = new PgVectorIndex(db, meta, prefix, options.efSearch ?? 128);
    (index as { location: string }).location = `${options.location} (table ${prefix})`;
    return index;
  }

  async count(collection: Collection): Promise<number> {
    const r = await this.db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM ${this.table(collection)}`,
    );
    return Number(r.rows[0]!.n);
  }

  async existingKeys(collection: Collection, keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const r = await this.db.query<{ key: string }>(
      `SELECT key FROM ${this.table(collection)} WHERE key = ANY($1::text[])`,
      [keys],
    );
    return new Set(r.rows.map((x) => x.key));
  }

  async add(items: readonly IndexItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.db.query('BEGIN');
    try {
      for (const c of COLLECTIONS) {
        const rows = items.filter((it) => it.collection === c);
        for (let i = 0; i < rows.length; i += 200) {
          const chunk = rows.slice(i, i + 200);
          await this.db.query(
            `INSERT INTO ${this.table(c)} (key, payload, embedding)
             SELECT k, p, e::vector FROM unnest($1::text[], $2::jsonb[], $3::text[]) AS t(k, p, e)
             ON CONFLICT (key) DO NOTHING`,
            [
              chunk.map((r) => r.key),
              chunk.map((r) => JSON.stringify(r.payload)),
              chunk.map((r) => vectorLiteral(r.vector)),
            ],
          );
        }
      }
      await this.db.query('COMMIT');
    } catch (e) {
      await this.db.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  async search(
    collection: Collection,
    query: Float32Array,
    k: number,
    options: SearchOptions = {},
  ): Promise<SearchHit[]> {
    if (k <= 0) return [];
    const t = this.table(collection);
    const params = [vectorLiteral(query), k];
    await this.db.query('BEGIN');
    try {
      let rows: { key: string; payload: ItemPayload; distance: number }[];
      if (options.exact) {
        // A sequential scan computes every distance: the exact answer, ties broken by key.
        await this.db.query('SET LOCAL enable_indexscan = off');
        rows = (
          await this.db.query<{ key: string; payload: ItemPayload; distance: number }>(
            `SELECT key, payload, embedding <=> $1::vector AS distance FROM ${t} ORDER BY distance, key LIMIT $2`,
            params,
          )
        ).rows;
      } else {
        await this.db.query(`SET LOCAL hnsw.ef_search = ${Math.max(this.efSearch, k) | 0}`);
        // ORDER BY the distance operator alone, so the planner can walk the HNSW index.
        rows = (
          await this.db.query<{ key: string; payload: ItemPayload; distance: number }>(
            `SELECT key, payload, embedding <=> $1::vector AS distance FROM ${t} ORDER BY embedding <=> $1::vector LIMIT $2`,
            params,
          )
        ).rows;
      }
      await this.db.query('COMMIT');
      return rows.map((r) => ({ key: r.key, score: 1 - Number(r.distance), payload: r.payload }));
    } catch (e) {
      await this.db.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
