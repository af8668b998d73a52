import { checkPositiveInt } from '@polymodal/tensor';
import { CheckpointError } from './checkpoint-error.js';
import type { CheckpointStorage, LoadedCheckpoint } from './checkpoint-storage.js';

/** The manifest written last into each checkpoint directory. */
export interface CheckpointManifest {
  step: number;
  createdAt: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

const PREFIX = 'checkpoint-';
const MANIFEST = 'manifest.json';

async function sha256(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Crash-safe checkpoint directories (Node only): each checkpoint is written into a temp directory
 * (every file fsync'ed, then a manifest with each file's size and SHA-256, then the directory
 * fsync'ed) and renamed into place as `checkpoint-<step>`; only the last `keepLast` are kept.
 * `loadLatest()` returns the newest checkpoint whose files all match their manifest, so a
 * truncated or half-written checkpoint is skipped in favour of the previous good one.
 *
 * ```ts
 * const store = new CheckpointStore('runs/a/checkpoints', 3);
 * await store.save(100, { 'model.safetensors': bytes });
 * const last = await store.loadLatest(); // { step: 100, files, path } or null
 * ```
 */
export class CheckpointStore implements CheckpointStorage {
  constructor(
    readonly dir: string,
    readonly keepLast = 3,
  ) {
    checkPositiveInt('CheckpointStore', 'keepLast', keepLast);
  }

  /** Path of the checkpoint for `step`. */
  async pathFor(step: number): Promise<string> {
    const { join } = await import('node:path');
    return join(this.dir, `${PREFIX}${String(step).padStart(8, '0')}`);
  }

  /** Writes a checkpoint atomically; returns its directory. */
  async save(step: number, files: Record<string, Uint8Array>): Promise<string> {
    const fs = await import('node:fs/promises');
    const { join } = await import('node:path');
    await fs.mkdir(this.dir, { recursive: true });
    const finalPath = await this.pathFor(step);
    const tmp = join(this.dir, `.tmp-${PREFIX}${step}-${process.pid}-${Date.now()}`);
    await fs.mkdir(tmp);
    const manifest: CheckpointManifest = { step, createdAt: new Date().toISOString(), files: {} };
    try {
      for (const [name, bytes] of Object.entries(files)) {
        if (name.includes('/') || name === MANIFEST)
          throw new CheckpointError('CheckpointStore.save', `invalid file name '${name}'`);
        await writeSynced(join(tmp, name), bytes);
        manifest.files[name] = { bytes: bytes.length, sha256: await sha256(bytes) };
      }
      await writeSynced(join(tmp, MANIFEST), new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
      await syncDir(tmp);
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw e;
    }
    await fs.rm(finalPath, { recursive: true, force: true });
    await fs.rename(tmp, finalPath);
    await syncDir(this.dir);
    await this.prune();
    return finalPath;
  }

  /** Steps of the checkpoint directories present (not verified), newest first. */
  async steps(): Promise<number[]> {
    const fs = await import('node:fs/promises');
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.startsWith(PREFIX) && /^\d+$/.test(n.slice(PREFIX.length)))
      .map((n) => Number(n.slice(PREFIX.length)))
      .sort((a, b) => b - a);
  }

  /** Reads and verifies one checkpoint; throws CheckpointError naming the first problem. */
  async load(step: number): Promise<LoadedCheckpoint> {
    const fs = await import('node:fs/promises');
    const { join } = await import('node:path');
    const path = await this.pathFor(step);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await fs.readFile(join(path, MANIFEST), 'utf8'));
    } catch (e) {
      throw new CheckpointError(
        'CheckpointStore.load',
        `${path}: unreadable manifest (${(e as Error).message})`,
      );
    }
    const manifest = validateManifest(parsed, step, path);
    const files: Record<string, Uint8Array> = {};
    for (const [name, info] of Object.entries(manifest.files)) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await fs.readFile(join(path, name)));
      } catch {
        throw new CheckpointError('CheckpointStore.load', `${path}: missing file ${name}`);
      }
      if (bytes.length !== info.bytes)
        throw new CheckpointError(
          'CheckpointStore.load',
          `${path}: ${name} has ${bytes.length} bytes, manifest says ${info.bytes} (truncated?)`,
        );
      if ((await sha256(bytes)) !== info.sha256)
        throw new CheckpointError('CheckpointStore.load', `${path}: ${name} fails its SHA-256 checksum`);
      files[name] = bytes;
    }
    return { step: manifest.step, path, files };
  }

  /**
   * The newest checkpoint that verifies (and holds every `requiredFiles` entry), or null when there
   * is none; `onSkip` hears about each corrupt one passed over.
   */
  async loadLatest(
    onSkip?: (step: number, error: CheckpointError) => void,
    options: { requiredFiles?: readonly string[] } = {},
  ): Promise<LoadedCheckpoint | null> {
    for (const step of await this.steps()) {
      try {
        const ckpt = await this.load(step);
        const missing = (options.requiredFiles ?? []).filter((f) => !Object.hasOwn(ckpt.files, f));
        if (missing.length)
          throw new CheckpointError(
            'CheckpointStore.load',
            `${ckpt.path}: the manifest lists no ${missing.join(', ')}`,
          );
        return ckpt;
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
        onSkip?.(step, e);
      }
    }
    return null;
  }

  private async prune(): Promise<void> {
    const fs = await import('node:fs/promises');
    const steps = await this.steps();
    for (const step of steps.slice(this.keepLast))
      await fs.rm(await this.pathFor(step), { recursive: true, force: true });
    const { join } = await import('node:path');
    for (const name of await fs.readdir(this.dir))
      if (name.startsWith(`.tmp-${PREFIX}`) && !name.includes(`-${process.pid}-`))
        await fs.rm(join(this.dir, name), { recursive: true, force: true });
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A parsed manifest checked against the shape `save` writes: valid JSON that is not a manifest
 * (`{}`, a list, a file name with a path in it) is as unusable as a corrupt file, and `loadLatest`
 * falls back past it the same way.
 */
function validateManifest(value: unknown, step: number, path: string): CheckpointManifest {
  const bad = (why: string): never => {
    throw new CheckpointError(
      'CheckpointStore.load',
      `${path}: ${MANIFEST} is not a checkpoint manifest: ${why}`,
    );
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('not a JSON object');
  const m = value as Record<string, unknown>;
  if (m.step !== step) bad(`step ${JSON.stringify(m.step)} does not match the directory's step ${step}`);
  if (typeof m.createdAt !== 'string') bad('createdAt is missing');
  const files = m.files;
  if (files === null || typeof files !== 'object' || Array.isArray(files)) return bad('files is missing');
  for (const [name, info] of Object.entries(files as Record<string, unknown>)) {
    if (name === '' || name === MANIFEST || /[/\\]/.test(name) || name === '.' || name === '..')
      bad(`file name ${JSON.stringify(name)} is not a plain name in the checkpoint directory`);
    const i = info as Record<string, unknown> | null;
    if (i === null || typeof i !== 'object' || !Number.isSafeInteger(i.bytes) || (i.bytes as number) < 0)
      bad(`${name}: bytes must be a non-negative integer`);
    if (typeof i!.sha256 !== 'string' || !SHA256_HEX.test(i!.sha256))
      bad(`${name}: sha256 must be 64 hex digits`);
  }
  return value as CheckpointManifest;
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await import('node:fs/promises');
  const handle = await fs.open(path, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(path: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle.close();
  }
}
