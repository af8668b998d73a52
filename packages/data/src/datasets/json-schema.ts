import { readFile } from 'node:fs/promises';
import { DatasetError } from './dataset-error.js';

/** Reads and parses a JSON file, naming the file in any error. */
export async function readJsonFile(reader: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DatasetError(
      reader,
      file,
      `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DatasetError(reader, file, `invalid JSON (${(e as Error).message})`);
  }
}

type Kind = 'string' | 'number' | 'array' | 'object';

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

/** `obj[key]` checked to be of `kind`; the error says which file, path and field. */
export function field<T>(
  reader: string,
  file: string,
  path: string,
  obj: unknown,
  key: string,
  kind: Kind,
): T {
  if (typeof obj !== 'object' || obj === null)
    throw new DatasetError(reader, file, `${path} is not an object`);
  const v = (obj as Record<string, unknown>)[key];
  if (v === undefined) throw new DatasetError(reader, file, `${path} is missing '${key}'`);
  if (kindOf(v) !== kind)
    throw new DatasetError(reader, file, `${path}.${key} should be ${kind}, got ${kindOf(v)}`);
  return v as T;
}

/** Like `field` but `undefined` when absent. */
export function optionalField<T>(
  reader: string,
  file: string,
  path: string,
  obj: unknown,
  key: string,
  kind: Kind,
): T | undefined {
  if ((obj as Record<string, unknown>)[key] === undefined) return undefined;
  return field<T>(reader, file, path, obj, key, kind);
}
