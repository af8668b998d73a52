import { existsSync, readFileSync } from 'node:fs';
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
  /**
   * Settings a resumed run must share with the run it continues (what positions the data stream
   * or shapes the state: the seed, the batch size, a curriculum), by the name the user knows them
   * by (e.g. `--curriculum`). Recorded in `run.json`; with `resume`, a recorded value that differs
   * is refused, naming both, before anything is loaded.
   */
  resumeMustMatch?: Record<string, unknown>;
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
  if (options.resume && options.resumeMustMatch) checkResumeMatches(dir, root, options.resumeMustMatch);
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
    ...(options.resumeMustMatch ? { resumeMustMatch: options.resumeMustMatch } : {}),
  });
  return { root, path: (...parts) => join(root, ...parts), checkpoints, notes };
}

/** The previous `run.json`'s `resumeMustMatch`, compared with this run's (runs that recorded none pass). */
function checkResumeMatches(dir: string, root: string, now: Record<string, unknown>): void {
  const file = join(root, 'run.json');
  if (!existsSync(file)) return;
  let before: Record<string, unknown> | undefined;
  try {
    before = (JSON.parse(readFileSync(file, 'utf8')) as { resumeMustMatch?: Record<string, unknown> })
      .resumeMustMatch;
  } catch {
    return; // an unreadable run.json says nothing about the settings; the checkpoints are checked on load
  }
  if (!before) return;
  const show = (v: unknown) => (v === undefined ? 'not set' : JSON.stringify(v));
  const differ = Object.keys({ ...before, ...now }).filter(
    (k) => JSON.stringify(before[k]) !== JSON.stringify(now[k]),
  );
  if (differ.length > 0) {
    throw new UsageError(
      `--resume: ${differ.map((k) => `${k} was ${show(before[k])} in ${dir}, now ${show(now[k])}`).join('; ')}. A resumed run continues the same data stream: pass the same settings, or start over without --resume`,
    );
  }
}
