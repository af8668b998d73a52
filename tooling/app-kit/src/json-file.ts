import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './usage-error.js';

/**
 * Writes `data` to `path` atomically: a temp file beside it, fsync, rename over the target, fsync
 * of the folder. A crash (even `kill -9`) leaves the old file or the new one, never half of one.
 * The folder is created if missing.
 *
 * ```ts
 * await writeFileAtomic('runs/a/index.bin', bytes);
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx');
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some filesystems cannot fsync a directory; the rename is atomic all the same.
  }
}

/**
 * `JSON.stringify(value, null, 2)` plus a newline, written atomically (see `writeFileAtomic`).
 *
 * ```ts
 * await writeJsonAtomic('runs/retrieval/results.json', { r1: 62.5 });
 * ```
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reads a JSON file; a missing file or invalid JSON is a `UsageError` naming the file and what
 * it was for (e.g. `--bundle runs/x: config.json not found`).
 *
 * ```ts
 * const config = await readJsonFile<ModelConfig>('runs/retrieval/bundle/config.json', 'the bundle config');
 * ```
 */
export async function readJsonFile<T = unknown>(path: string, what = 'JSON file'): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${what} ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`,
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
