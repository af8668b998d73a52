import { appendFileSync, mkdtempSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedIndex } from './embedded-index.js';
import { bruteForceTopK, itemsOf, randomUnitVectors, rejection } from './test-vectors.js';
import { IndexMismatchError, topK } from './vector-index.js';
import { VectorLog } from './vector-log.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'pm-index-'));
const D = 32;

describe('topK', () => {
  it('returns the best k, best first, ties by key', () => {
    const scores = Float64Array.from([0.1, 0.9, 0.5, 0.9, -1, 0.7]);
    expect(topK(scores, ['a', 'd', 'c', 'b', 'e', 'f'], 3)).toEqual([3, 1, 5]);
    expect(topK(scores, ['a', 'b', 'c', 'd', 'e', 'f'], 0)).toEqual([]);
    expect(topK(scores, ['a', 'b', 'c', 'd', 'e', 'f'], 10)).toHaveLength(6);
  });
});

describe('EmbeddedIndex', () => {
  it('exact search equals brute force, and persists across reopening', async () => {
    const dir = tmp();
    const images = itemsOf('images', randomUnitVectors(300, D, 1));
    const texts = itemsOf('texts', randomUnitVectors(120, D, 2));
    const index = await EmbeddedIndex.open({ dir, kind: 'exact', modelId: 'm1', dimension: D });
    await index.add([...images.slice(0, 200), ...texts]);
    await index.add(images.slice(150)); // overlaps: 50 keys already there
    expect(await index.count('images')).toBe(300);
    expect(await index.count('texts')).toBe(120);
    await index.close();
    const again = await EmbeddedIndex.open({ dir, kind: 'exact', modelId: 'm1', dimension: D });
    for (const q of randomUnitVectors(20, D, 3)) {
      const hits = await again.search('images', q, 10);
      expect(hits.map((h) => h.key)).toEqual(bruteForceTopK(images, q, 10));
      expect(hits[0]!.score).toBeCloseTo(
        images.find((x) => x.key === hits[0]!.key)!.vector.reduce((a, x, i) => a + x * q[i]!, 0),
        6,
      );
    }
    expect((await again.search('texts', texts[7]!.vector, 1))[0]).toMatchObject({
      key: texts[7]!.key,
      payload: { caption: 'caption 7' },
    });
    expect(await again.existingKeys('images', ['images-00001', 'nope'])).toEqual(new Set(['images-00001']));
    await again.close();
  });

  it('HNSW recall@10 ≥ 0.99 against exact on 5,000 vectors, graph saved and reloaded', async () => {
    const dir = tmp();
    const items = itemsOf('images', randomUnitVectors(5000, D, 4));
    const index = await EmbeddedIndex.open({ dir, kind: 'hnsw', modelId: 'm', dimension: D });
    for (let i = 0; i < items.length; i += 1000) await index.add(items.slice(i, i + 1000));
    await index.close();
    expect(readdirSync(dir).sort()).toEqual(['hnsw-images.usearch', 'meta.json', 'vectors.log']);
    const reopened = await EmbeddedIndex.open({ dir, kind: 'hnsw', modelId: 'm', dimension: D });
    let found = 0;
    const queries = randomUnitVectors(200, D, 5);
    for (const q of queries) {
      const approx = new Set((await reopened.search('images', q, 10)).map((h) => h.key));
      const exact = (await reopened.search('images', q, 10, { exact: true })).map((h) => h.key);
      expect(exact).toEqual(bruteForceTopK(items, q, 10));
      found += exact.filter((k) => approx.has(k)).length;
    }
    expect(found / (10 * queries.length)).toBeGreaterThanOrEqual(0.99);
    await reopened.close();
  });

  it('refuses an index built by another model or width, naming both', async () => {
    const dir = tmp();
    await (await EmbeddedIndex.open({ dir, kind: 'exact', modelId: 'aaaa', dimension: D })).close();
    const e = await rejection(EmbeddedIndex.open({ dir, kind: 'exact', modelId: 'bbbb', dimension: D }));
    expect(e).toBeInstanceOf(IndexMismatchError);
    expect(e.message).toMatch(
      /built with model aaaa \(dimension 32\).*bundle is model bbbb \(dimension 32\)/,
    );
    await expect(EmbeddedIndex.open({ dir, kind: 'exact', modelId: 'aaaa', dimension: 16 })).rejects.toThrow(
      /dimension 32.*dimension 16/,
    );
  });

  it('recovers from a torn write (a crash mid-append): intact records kept, tail dropped, no duplicates', async () => {
    const dir = tmp();
    const items = itemsOf('images', randomUnitVectors(50, D, 6));
    const index = await EmbeddedIndex.open({ dir, kind: 'hnsw', modelId: 'm', dimension: D });
    await index.add(items.slice(0, 30));
    await index.close();
    const log = join(dir, 'vectors.log');
    const intact = statSync(log).size;
    // What kill -9 leaves behind: a record cut in the middle, and garbage that fails the checksum.
    appendFileSync(log, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
    const reopened = await EmbeddedIndex.open({ dir, kind: 'hnsw', modelId: 'm', dimension: D });
    expect(reopened.recoveredBytes).toBe(10);
    expect(statSync(log).size).toBe(intact);
    await reopened.add(items); // the resumed run offers everything again
    expect(await reopened.count('images')).toBe(50);
    for (const q of randomUnitVectors(5, D, 7)) {
      expect((await reopened.search('images', q, 5)).map((h) => h.key)).toEqual(bruteForceTopK(items, q, 5));
    }
    await reopened.close();
    // A record whose bytes were cut short: everything before it survives.
    truncateSync(log, statSync(log).size - 7);
    const l = VectorLog.open(log, D);
    expect(l.collections.images.size).toBe(49);
    expect(l.droppedBytes).toBeGreaterThan(0);
    l.close();
  });
});
