import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedIndex } from './embedded-index.js';
import { PgVectorIndex } from './pgvector-index.js';
import { connectSql, DatabaseConnectionError, fromPglite, redactUrl, type SqlClient } from './sql-client.js';
import { bruteForceTopK, itemsOf, randomUnitVectors, rejection } from './test-vectors.js';
import { IndexMismatchError } from './vector-index.js';

const D = 32;
let db: PGlite;
let server: PGLiteSocketServer;
let url: string;

beforeAll(async () => {
  db = await PGlite.create({ extensions: { vector } });
  server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
  await server.start();
  url = `postgres://postgres:secret@${server.getServerConn()}/postgres`;
  // Starting PostgreSQL in wasm takes ~10 s alone and minutes on a loaded two-core CI machine.
}, 300_000);
afterAll(async () => {
  await server?.stop();
  await db?.close();
});

/** The in-process client, without closing the shared database when an index closes. */
const inProcess = (): SqlClient => ({ ...fromPglite(db), close: async () => {} });

async function checkAgainstEmbedded(client: SqlClient, table: string) {
  const images = itemsOf('images', randomUnitVectors(1500, D, 11));
  const texts = itemsOf('texts', randomUnitVectors(300, D, 12));
  const index = await PgVectorIndex.open(client, {
    table,
    modelId: 'model-a',
    dimension: D,
    location: 'test',
  });
  await index.add([...images.slice(0, 1000), ...texts]);
  await index.add(images.slice(900)); // a resumed run re-offers 100 items: no duplicates
  expect(await index.count('images')).toBe(1500);
  expect(await index.count('texts')).toBe(300);
  const embedded = await EmbeddedIndex.open({
    dir: mkdtempSync(join(tmpdir(), 'pm-pg-')),
    kind: 'exact',
    modelId: 'model-a',
    dimension: D,
  });
  await embedded.add([...images, ...texts]);
  let agree = 0;
  const queries = randomUnitVectors(50, D, 13);
  for (const q of queries) {
    const exactPg = await index.search('images', q, 10, { exact: true });
    const exactEmbedded = await embedded.search('images', q, 10);
    // The same embeddings give the same top-k, in the same order, from both exact searches.
    expect(exactPg.map((h) => h.key)).toEqual(exactEmbedded.map((h) => h.key));
    expect(exactPg.map((h) => h.key)).toEqual(bruteForceTopK(images, q, 10));
    exactPg.forEach((h, i) => expect(h.score).toBeCloseTo(exactEmbedded[i]!.score, 5));
    const approx = new Set((await index.search('images', q, 10)).map((h) => h.key));
    agree += exactPg.filter((h) => approx.has(h.key)).length;
  }
  expect(agree / (10 * queries.length)).toBeGreaterThanOrEqual(0.99);
  const t = await index.search('texts', texts[5]!.vector, 1, { exact: true });
  expect(t[0]).toMatchObject({ key: texts[5]!.key, payload: { caption: 'caption 5' } });
  await embedded.close();
  return index;
}

describe('PgVectorIndex on PGlite + pgvector', () => {
  it('in process: exact top-k identical to the embedded exact index; HNSW recall@10 ≥ 0.99', async () => {
    const index = await checkAgainstEmbedded(inProcess(), 'inproc');
    await index.close();
  }, 180_000);

  it('over the socket with the standard pg client: the same, through the wire protocol', async () => {
    const client = await connectSql(url);
    const index = await checkAgainstEmbedded(client, 'wire');
    await index.close();
  }, 180_000);

  it('keeps captions and paths as data: SQL injection attempts are stored verbatim', async () => {
    const client = await connectSql(url);
    const [v1, v2] = randomUnitVectors(2, D, 14);
    const evil = 'x\'); DROP TABLE "evil_texts"; DROP TABLE evil_meta; --';
    const index = await PgVectorIndex.open(client, {
      table: 'evil',
      modelId: 'm',
      dimension: D,
      location: 'test',
    });
    await index.add([
      { collection: 'texts', key: evil, payload: { caption: evil }, vector: v1! },
      { collection: 'images', key: 'a\'b"c\\d;.png', payload: { path: '/tmp/a\'b"c\\d;.png' }, vector: v2! },
    ]);
    expect((await index.search('texts', v1!, 1))[0]).toMatchObject({ key: evil, payload: { caption: evil } });
    expect((await index.search('images', v2!, 1))[0]!.payload.path).toBe('/tmp/a\'b"c\\d;.png');
    expect(await index.existingKeys('texts', [evil, "' OR '1'='1"])).toEqual(new Set([evil]));
    expect(await index.count('texts')).toBe(1); // the table is still there
    await expect(
      PgVectorIndex.open(client, {
        table: 'x; DROP TABLE evil_texts',
        modelId: 'm',
        dimension: D,
        location: 't',
      }),
    ).rejects.toThrow(/table prefix .* must match/);
    await index.close();
  }, 60_000);

  it('refuses an index built by another model, naming both model ids', async () => {
    const client = await connectSql(url);
    const e = await rejection(
      PgVectorIndex.open(client, {
        table: 'wire',
        modelId: 'model-b',
        dimension: D,
        location: 'db',
      }),
    );
    expect(e).toBeInstanceOf(IndexMismatchError);
    expect(e.message).toMatch(/model model-a \(dimension 32\).*model model-b \(dimension 32\)/);
    await client.close();
  }, 60_000);
});

describe('connectSql with a wrong or dead database URL', () => {
  it('fails fast and clearly: refused, hanging, malformed; password hidden', async () => {
    // A port nobody listens on: refused at once.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await rejection(connectSql(`postgres://u:hunter2@127.0.0.1:${port}/db`));
    expect(refused).toBeInstanceOf(DatabaseConnectionError);
    expect(refused.message).toMatch(/connection refused/);
    expect(refused.message).not.toContain('hunter2');
    // A server that accepts and never answers: the timeout ends the wait.
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    const started = Date.now();
    const hung = await rejection(
      connectSql(`postgres://u@127.0.0.1:${silentPort}/db`, { connectTimeoutMs: 500 }),
    );
    expect(hung).toBeInstanceOf(DatabaseConnectionError);
    expect(hung.message).toMatch(/no answer within 500 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    silent.close();
    await expect(connectSql('not a url')).rejects.toThrow(/not a URL/);
    await expect(connectSql('mysql://h/db')).rejects.toThrow(/unsupported scheme 'mysql:'/);
    expect(redactUrl('postgres://a:b@h:1/d')).toBe('postgres://a:***@h:1/d');
  }, 60_000);
});
