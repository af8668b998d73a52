import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE, tempDir } from './helpers.js';

// The real CLI in child processes, SIGKILLed mid-run: what a crash or an OOM kill does.
const dir = tempDir('polymodal-vqa-kill-');
const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  // One process (node with tsx's loader), so SIGKILL hits the process doing the work.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@polymodal/source', cli, ...args], {
    cwd: join(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out })),
  );
  return { child, done };
}

async function run(args: string[]): Promise<string> {
  const { code, out } = await start(args).done;
  if (code !== 0) throw new Error(`cli ${args.join(' ')} exited ${code}:\n${out}`);
  return out;
}

type Line = { type: string; step: number; loss: number };
const trainLosses = (runDir: string): Line[] =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.type === 'train');

const STEPS = 40;
// Dropout on, so that the dropout generator's state matters; batches drawn from a seeded order.
const TRAIN = [
  'train',
  '--data',
  FIXTURE,
  '--image-size',
  '24',
  '--steps',
  String(STEPS),
  '--pretrain-steps',
  '0',
  '--images-per-batch',
  '2',
  '--questions-per-image',
  '2',
  '--eval-every',
  '0',
  '--dropout',
  '0.2',
  '--checkpoint-every',
  '2',
  '--progress',
  'none',
];

describe('kill -9 and resume', () => {
  it('fine-tuning killed mid-run resumes to the same losses, step for step, as an uninterrupted run', async () => {
    const straight = join(dir, 'straight');
    await run([...TRAIN, '--run-dir', straight]);
    const killed = join(dir, 'killed');
    const first = start([...TRAIN, '--run-dir', killed]);
    const saved = () =>
      existsSync(join(killed, 'checkpoints'))
        ? readdirSync(join(killed, 'checkpoints')).map((n) => Number(n.replace('checkpoint-', '')))
        : [];
    const started = Date.now();
    while (!saved().some((s) => s >= 6)) {
      if (Date.now() - started > 240_000) throw new Error('timed out waiting for the checkpoint of step 6');
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    expect((await first.done).code).toBeNull(); // killed, not finished
    const out = await run([...TRAIN, '--run-dir', killed, '--resume']);
    expect(out).toMatch(/resumed from/);
    const a = trainLosses(straight);
    const b = trainLosses(killed);
    expect(a.map((l) => l.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(b.map((l) => l.step)).toEqual(a.map((l) => l.step));
    // Exact: the same batches and dropout masks after the resume.
    expect(b.map((l) => l.loss)).toEqual(a.map((l) => l.loss));
    expect(
      readFileSync(join(killed, 'bundle', 'model.safetensors')).equals(
        readFileSync(join(straight, 'bundle', 'model.safetensors')),
      ),
    ).toBe(true);
  }, 600_000);
});
