import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** How a CLI child process ended, and everything it printed (stdout and stderr, interleaved). */
export interface CliProcessResult {
  /** Exit code; null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

export interface CliProcessOptions {
  /** Working directory of the child (where `tsx` resolves from). Default `process.cwd()`. */
  cwd?: string;
  /** Node flags before the script. Default `TSX_SOURCE_ARGS` (a TypeScript CLI run from source). */
  nodeArgs?: readonly string[];
  /** Extra environment variables (on top of this process's, with `NODE_OPTIONS` cleared). */
  env?: Record<string, string>;
}

/** Node flags that run a workspace CLI from its TypeScript source: tsx's loader, the source condition. */
export const TSX_SOURCE_ARGS: readonly string[] = ['--import', 'tsx', '--conditions=@polymodal/source'];

interface Started {
  child: ChildProcess;
  done: Promise<CliProcessResult>;
}

function start(script: string, args: readonly string[], options: CliProcessOptions): Started {
  // One process (node with the loader in it, not a wrapper that spawns node), so that SIGKILL hits
  // the process doing the work. NODE_OPTIONS cleared: vitest's would load its own hooks in the child.
  const child = spawn(process.execPath, [...(options.nodeArgs ?? TSX_SOURCE_ARGS), script, ...args], {
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, NODE_OPTIONS: '' },
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const done = new Promise<CliProcessResult>((resolve, reject) => {
    child.on('error', reject);
    // 'close', not 'exit': by then stdout and stderr are drained.
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
  return { child, done };
}

const describeEnd = ({ code, signal }: CliProcessResult) =>
  signal ? `was ended by ${signal}` : `exited with code ${code}`;

/**
 * Runs a CLI to the end in a child process and returns what it printed; throws, with that output,
 * unless it exits 0. For end-to-end tests of an app's real command line.
 *
 * ```ts
 * const out = await runCliProcess(join(appDir, 'src', 'cli.ts'), ['train', '--quick'], { cwd: appDir });
 * ```
 */
export async function runCliProcess(
  script: string,
  args: readonly string[],
  options: CliProcessOptions = {},
): Promise<string> {
  const result = await start(script, args, options).done;
  if (result.code !== 0) {
    throw new Error(`${script} ${args.join(' ')} ${describeEnd(result)}:\n${result.out}`);
  }
  return result.out;
}

export interface KillAndRerunOptions extends CliProcessOptions {
  /** Arguments of the run to kill. */
  args: readonly string[];
  /** Polled while the first run works; once true the run is SIGKILLed (e.g. a checkpoint is on disk). */
  killWhen: () => boolean;
  /** What `killWhen` waits for, for the error messages ("the checkpoint of step 6"). */
  waitingFor: string;
  /** Arguments of the second run. Default `args`. */
  rerunArgs?: readonly string[];
  /** Runs between the kill and the rerun (to look at what the killed run left behind). */
  afterKill?: (killed: CliProcessResult) => void | Promise<void>;
  /** How long to wait for `killWhen`. Default 240 s. */
  timeoutMs?: number;
}

/**
 * The `kill -9` test of an app: starts its CLI in a child process, SIGKILLs it once `killWhen()`
 * holds (what a crash, an OOM kill or a pulled plug does; nothing is mocked), runs `afterKill`, then
 * runs the CLI again to the end. Returns the killed run's result and the rerun's output. Throws if
 * the first run ends before `killWhen()` holds or `timeoutMs` passes (the child is killed), or if the
 * rerun does not exit 0.
 *
 * ```ts
 * const { killed, rerun } = await killAndRerun(cli, {
 *   cwd: appDir,
 *   args: ['train', '--run-dir', dir],
 *   killWhen: () => checkpointSteps(dir).some((s) => s >= 6),
 *   waitingFor: 'the checkpoint of step 6',
 *   rerunArgs: ['train', '--run-dir', dir, '--resume'],
 * });
 * expect(killed.code).toBeNull();
 * expect(rerun).toMatch(/resumed from step \d+/);
 * ```
 */
export async function killAndRerun(
  script: string,
  options: KillAndRerunOptions,
): Promise<{ killed: CliProcessResult; rerun: string }> {
  const { args, killWhen, waitingFor, rerunArgs = args, afterKill, timeoutMs = 240_000 } = options;
  const first = start(script, args, options);
  const state: { ended?: CliProcessResult } = {};
  first.done.then(
    (result) => {
      state.ended = result;
    },
    () => {},
  );
  const started = Date.now();
  try {
    while (!killWhen()) {
      if (state.ended) {
        throw new Error(`${script} ${describeEnd(state.ended)} before ${waitingFor}:\n${state.ended.out}`);
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${waitingFor}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch (error) {
    first.child.kill('SIGKILL');
    await first.done.catch(() => {});
    throw error;
  }
  first.child.kill('SIGKILL');
  const killed = await first.done;
  await afterKill?.(killed);
  return { killed, rerun: await runCliProcess(script, rerunArgs, options) };
}

/**
 * Steps of the checkpoints a run folder holds (`checkpoints/checkpoint-<step>`, as the finetune
 * `Trainer` writes them); empty before the first.
 *
 * ```ts
 * checkpointSteps('runs/vqa'); // [2, 4, 6]
 * ```
 */
export function checkpointSteps(runDir: string): number[] {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^checkpoint-\d+$/.test(name))
    .map((name) => Number(name.slice('checkpoint-'.length)))
    .sort((a, b) => a - b);
}
