import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from './json-file.js';
import { UsageError } from './usage-error.js';

export interface RunDir {
  /** Absolute path of the run folder. */
  root: string;
  /** `join(root, ...parts)`. */
  path(...parts: string[]): string;
  /** Where the Trainer keeps its checkpoints (`<root>/checkpoints`). */
  checkpoints: string;
}

export interface PrepareRunDirOptions {
  /** Continuing a run: its folder must exist. */
  resume?: boolean;
  /** Written to `<root>/run.json` with the time and command line, so a folder says how it was made. */
  config?: unknown;
  /** The command line to record (default `process.argv.slice(2)`). */
  argv?: readonly string[];
}

/**
 * Creates (or, with `resume`, checks) a run folder and records how the run was started in
 * `run.json` (`{ started, argv, config }`, written atomically). A fresh run over a folder that
 * already has checkpoints says so in `notes`, so the app can tell the user that `--resume`
 * exists; the old checkpoints are kept, not deleted.
 *
 * ```ts
 * const run = await prepareRunDir('runs/retrieval', { config, resume: false });
 * trainer = new Trainer({ …, checkpointDir: run.checkpoints, outputDir: run.root });
 * ```
 */
export async function prepareRunDir(
  dir: string,
  options: PrepareRunDirOptions = {},
): Promise<RunDir & { notes: string[] }> {
  const root = resolve(dir);
  const notes: string[] = [];
  if (options.resume && !existsSync(root)) {
    throw new UsageError(`--resume: run folder ${dir} does not exist (nothing to resume)`);
  }
  await mkdir(root, { recursive: true });
  const checkpoints = join(root, 'checkpoints');
  if (!options.resume && existsSync(checkpoints)) {
    const found = (await readdir(checkpoints)).filter((n) => n.startsWith('checkpoint-'));
    if (found.length > 0) {
      notes.push(
        `${dir} already holds ${found.length} checkpoint(s); starting over (pass --resume to continue from them)`,
      );
    }
  }
  await writeJsonAtomic(join(root, 'run.json'), {
    started: new Date().toISOString(),
    argv: options.argv ?? process.argv.slice(2),
    resume: Boolean(options.resume),
    config: options.config ?? null,
  });
  return { root, path: (...parts) => join(root, ...parts), checkpoints, notes };
}
