import { Generator } from '@polymodal/tensor';
import type { Collection, IndexItem } from './vector-index.js';

/** `n` seeded random unit vectors in `d` dimensions (test data for the index kinds). */
export function randomUnitVectors(n: number, d: number, seed: number): Float32Array[] {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => {
    const v = new Float32Array(d);
    let norm = 0;
    for (let i = 0; i < d; i++) {
      v[i] = g.normal();
      norm += v[i]! * v[i]!;
    }
    for (let i = 0; i < d; i++) v[i] = v[i]! / Math.sqrt(norm);
    return v;
  });
}

/** Items `prefix-0 …` of one collection over the given vectors. */
export function itemsOf(collection: Collection, vectors: Float32Array[], prefix = collection): IndexItem[] {
  return vectors.map((vector, i) => ({
    collection,
    key: `${prefix}-${String(i).padStart(5, '0')}`,
    payload: collection === 'images' ? { path: `${prefix}/${i}.png` } : { caption: `caption ${i}` },
    vector,
  }));
}

/** Brute-force top-k keys by dot product (float64), ties by key: the reference every kind is held to. */
export function bruteForceTopK(items: IndexItem[], query: Float32Array, k: number): string[] {
  return items
    .map((it) => ({ key: it.key, s: it.vector.reduce((a, x, i) => a + x * query[i]!, 0) }))
    .sort((a, b) => b.s - a.s || (a.key < b.key ? -1 : 1))
    .slice(0, k)
    .map((x) => x.key);
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
