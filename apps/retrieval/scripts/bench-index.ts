/**
 * Index benchmark: for each index kind, indexing throughput through the real `index` path
 * (decode → embed → store), query latency p50/p95 over 1,000 text queries (index search alone,
 * and embed + search), and HNSW recall@10 against exact search on the same index.
 *
 *   pnpm --dir apps/retrieval exec tsx --conditions=@polymodal/source scripts/bench-index.ts \
 *     [--bundle runs/retrieval/bundle] [--data data/retrieval/test-1000-48px-seed1] [--out results/index-bench.json]
 *
 * Kinds: embedded exact, embedded HNSW (usearch), pgvector on PGlite in process (exact and HNSW),
 * and pgvector through PGlite's socket server with the standard `pg` client (exact and HNSW).
 * Plus HNSW recall and latency on 20,000 random unit vectors (d = 64), a harder case than the
 * 1,000-image set. Timings on a shared 2-core machine: compare kinds within one run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { withEval, writeJsonAtomic } from '@polymodal/app-kit';
import { loadBundle } from '../src/bundle.js';
import { embedTokenized, encodeText } from '../src/embed.js';
import { EmbeddedIndex } from '../src/index/embedded-index.js';
import { PgVectorIndex } from '../src/index/pgvector-index.js';
import { connectSql, fromPglite, type SqlClient } from '../src/index/sql-client.js';
import { itemsOf, randomUnitVectors } from '../src/index/test-vectors.js';
import type { VectorIndex } from '../src/index/vector-index.js';
import { indexCollection, resolveSource } from '../src/indexer.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const bundleDir = arg('bundle', 'runs/retrieval/bundle');
const dataDir = arg('data', 'data/retrieval/test-1000-48px-seed1');
const out = arg('out', 'results/index-bench.json');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function queryStats(index: VectorIndex, queries: Float32Array[], exact: boolean) {
  const ms: number[] = [];
  const results: string[][] = [];
  for (const q of queries) {
    const t = performance.now();
    const hits = await index.search('images', q, 10, { exact });
    ms.push(performance.now() - t);
    results.push(hits.map((h) => h.key));
  }
  return { p50: pct(ms, 50), p95: pct(ms, 95), results };
}

function recall(approx: string[][], exact: string[][]): number {
  let found = 0;
  let total = 0;
  approx.forEach((a, i) => {
    const set = new Set(a);
    found += exact[i]!.filter((k) => set.has(k)).length;
    total += exact[i]!.length;
  });
  return found / total;
}

const bundle = await loadBundle(bundleDir);
const source = await resolveSource(dataDir);
const queryTexts = source.captions.slice(0, 1000).map((c) => c.caption);
const tq = performance.now();
const queries = withEval(bundle.model, () =>
  embedTokenized(
    bundle.model,
    queryTexts.map((t) => encodeText(bundle.tokenizer, t, bundle.config.maxLength)),
  ),
);
const textEmbedMs = (performance.now() - tq) / queries.length;
console.log(
  `bundle ${bundle.modelId}; ${source.images.length} images, ${queries.length} queries (${textEmbedMs.toFixed(2)} ms per query embedding, batched)`,
);

const db = await PGlite.create({ extensions: { vector } });
const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
await server.start();
const url = `postgres://postgres@${server.getServerConn()}/postgres`;
const inProcess = (): SqlClient => ({ ...fromPglite(db), close: async () => {} });

const rows: Record<string, unknown>[] = [];
const kinds: { name: string; open: () => Promise<VectorIndex>; approximate: boolean }[] = [
  {
    name: 'embedded exact',
    open: () =>
      EmbeddedIndex.open({
        dir: mkdtempSync(join(tmpdir(), 'bench-')),
        kind: 'exact',
        modelId: bundle.modelId,
        dimension: bundle.config.embedDim,
      }),
    approximate: false,
  },
  {
    name: 'embedded HNSW (usearch)',
    open: () =>
      EmbeddedIndex.open({
        dir: mkdtempSync(join(tmpdir(), 'bench-')),
        kind: 'hnsw',
        modelId: bundle.modelId,
        dimension: bundle.config.embedDim,
      }),
    approximate: true,
  },
  {
    name: 'pgvector, PGlite in process',
    open: async () =>
      PgVectorIndex.open(inProcess(), {
        table: 'bench_inproc',
        modelId: bundle.modelId,
        dimension: bundle.config.embedDim,
        location: 'pglite',
      }),
    approximate: true,
  },
  {
    name: 'pgvector, PGlite socket + pg',
    open: async () =>
      PgVectorIndex.open(await connectSql(url), {
        table: 'bench_wire',
        modelId: bundle.modelId,
        dimension: bundle.config.embedDim,
        location: url,
      }),
    approximate: true,
  },
];
for (const kind of kinds) {
  const index = await kind.open();
  const r = await indexCollection(bundle, index, source, { batchSize: 64, progress: 'none', log: () => {} });
  const exact = await queryStats(index, queries, true);
  const row: Record<string, unknown> = {
    kind: kind.name,
    imagesPerSecond: r.imagesPerSecond,
    indexSeconds: r.seconds,
    exactP50Ms: exact.p50,
    exactP95Ms: exact.p95,
  };
  if (kind.approximate) {
    const approx = await queryStats(index, queries, false);
    Object.assign(row, {
      hnswP50Ms: approx.p50,
      hnswP95Ms: approx.p95,
      hnswRecallAt10: recall(approx.results, exact.results),
    });
  }
  rows.push(row);
  console.log(JSON.stringify(row));
  await index.close();
}

// A harder HNSW case: 20,000 random unit vectors in 64 dimensions (no cluster structure to exploit).
const synthetic = itemsOf('images', randomUnitVectors(20_000, 64, 1));
const synthQueries = randomUnitVectors(1000, 64, 2);
const synthRows: Record<string, unknown>[] = [];
for (const [name, open] of [
  [
    'embedded HNSW (usearch)',
    () =>
      EmbeddedIndex.open({
        dir: mkdtempSync(join(tmpdir(), 'bench-')),
        kind: 'hnsw',
        modelId: 'synthetic',
        dimension: 64,
      }),
  ],
  [
    'pgvector, PGlite in process',
    () =>
      PgVectorIndex.open(inProcess(), {
        table: 'bench_synth',
        modelId: 'synthetic',
        dimension: 64,
        location: 'pglite',
      }),
  ],
] as const) {
  const index = await open();
  const t = performance.now();
  for (let i = 0; i < synthetic.length; i += 1000) await index.add(synthetic.slice(i, i + 1000));
  const insertPerSecond = synthetic.length / ((performance.now() - t) / 1000);
  const exact = await queryStats(index, synthQueries, true);
  const approx = await queryStats(index, synthQueries, false);
  const row = {
    kind: name,
    vectors: synthetic.length,
    insertPerSecond,
    exactP50Ms: exact.p50,
    exactP95Ms: exact.p95,
    hnswP50Ms: approx.p50,
    hnswP95Ms: approx.p95,
    hnswRecallAt10: recall(approx.results, exact.results),
  };
  synthRows.push(row);
  console.log(JSON.stringify(row));
  await index.close();
}
await server.stop();
await db.close();
await writeJsonAtomic(out, {
  date: new Date().toISOString(),
  bundle: bundleDir,
  modelId: bundle.modelId,
  data: dataDir,
  queries: queries.length,
  textEmbedMs,
  testSet: rows,
  synthetic20k: synthRows,
});
console.log(`wrote ${out}`);
