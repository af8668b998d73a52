import type { Tensor } from '@polymodal/tensor';
import { SafetensorsError } from './errors.js';
import type { LoadStateDictResult, Module } from './module.js';
import { deserializeSafetensors, serializeSafetensors } from './safetensors.js';

/**
 * Node-only file I/O for safetensors. `node:fs` is imported lazily, so bundling @polymodal/nn for
 * the browser never pulls it in; browsers use `serializeSafetensors`/`deserializeSafetensors`.
 */

/**
 * Writes tensors to `path` atomically: a temp file in the same directory, fsync, then rename over
 * the target (and fsync of the directory), so a crash leaves either the old file or the new one.
 * Temp files of this target left by a writer that died (SIGKILL, power loss) are removed by the
 * next save; those of a writer still running are left alone.
 *
 * ```ts
 * await saveSafetensors('model.safetensors', model.stateDict(), { format: 'pt' });
 * ```
 */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const bytes = serializeSafetensors(tensors, metadata);
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  const tmp = join(
    dir,
    `.${basename(path)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  await removeStaleTemps(dir, basename(path));
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(tmp, 'wx');
  } catch (e) {
    throw new SafetensorsError('saveSafetensors', `cannot write ${path}: ${ioReason(e)}`);
  }
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new SafetensorsError('saveSafetensors', `cannot write ${path}: ${ioReason(err)}`);
  }
  // Make the rename itself durable; some platforms cannot open directories, which is fine.
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}

/** `.<target>.<pid>.<time>.<random>.tmp`, as `saveSafetensors` names its temp files. */
const TEMP_NAME = /^\.(.+)\.(\d+)\.\d+\.[0-9a-z]*\.tmp$/;

/** Whether a process with this id exists (EPERM: it does, owned by someone else). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp files of `target` in `dir` whose writing process no longer exists. */
async function removeStaleTemps(dir: string, target: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return; // the open below reports a missing directory
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || m[1] !== target) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    await fs.rm(join(dir, name), { force: true });
  }
}

/**
 * Reads a safetensors file (see `deserializeSafetensors` for the checks and dtype conversions).
 *
 * ```ts
 * const tensors = await loadSafetensors('model.safetensors');
 * ```
 */
export async function loadSafetensors(path: string): Promise<Record<string, Tensor>> {
  const fs = await import('node:fs/promises');
  let buf: Buffer;
  try {
    buf = await fs.readFile(path);
  } catch (e) {
    throw new SafetensorsError('loadSafetensors', `cannot read ${path}: ${ioReason(e)}`);
  }
  try {
    return deserializeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)).tensors;
  } catch (e) {
    // Name the file: the parser only knows bytes.
    if (e instanceof SafetensorsError) throw new SafetensorsError('loadSafetensors', `${path}: ${e.message}`);
    throw e;
  }
}

/** `ENOENT`, `EACCES (permission denied)`: the error code, else the message. */
function ioReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code
    ? `${err.code}${err.code === 'ENOENT' ? ' (no such file or directory)' : ''}`
    : String(err.message ?? e);
}

/**
 * Saves `module.stateDict()` as safetensors (atomically).
 *
 * ```ts
 * await saveModule('vit.safetensors', vit);
 * ```
 */
export async function saveModule(
  path: string,
  module: Module,
  metadata?: Record<string, string>,
): Promise<void> {
  await saveSafetensors(path, module.stateDict(), metadata);
}

/**
 * Loads a safetensors file into `module` with `loadStateDict` (strict by default); the loaded
 * tensors are freed once copied.
 *
 * ```ts
 * await loadModule('vit.safetensors', vit);
 * ```
 */
export async function loadModule(
  path: string,
  module: Module,
  options: { strict?: boolean } = {},
): Promise<LoadStateDictResult> {
  const tensors = await loadSafetensors(path);
  try {
    return module.loadStateDict(tensors, options);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
