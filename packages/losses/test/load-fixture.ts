import { readFileSync } from 'node:fs';

/** Reads a golden-value file written by `scripts/make-fixtures.py` (tests only). */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** Flattens nested number arrays (row-major). */
export function flat(values: unknown): number[] {
  return Array.isArray(values) ? values.flatMap(flat) : [values as number];
}
