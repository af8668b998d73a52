import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, realpathSync, rmSync, truncateSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_STEPS, makeTrainer } from './crash-setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const work = mkdtempSync(join(tmpdir(), 'finetune-crash-'));
const bundle = join(work, 'crash-child.cjs');

/**
 * tsx is not installed and Node 20 cannot run TypeScript, so the child script is bundled with the
 * esbuild that tsup ships (sources resolved through the `@polymodal/source` condition) and run
 * with plain node. Third-party packages stay external and resolve through NODE_PATH (hence CommonJS output).
 */
beforeAll(async () => {
  const requireFromTsup = createRequire(realpathSync(join(pkg, 'node_modules/tsup/package.json')));
  const esbuild = requireFromTsup('esbuild') as { build(options: Record<string, unknown>): Promise<unknown> };
  const polymodal = ['tensor', 'nn'].map((n) => realpathSync(join(pkg, 'node_modules/@polymodal', n)));
  const external = ['cli-progress'];
  for (const dir of polymodal) {
    const deps = (
      createRequire(join(dir, 'package.json'))(join(dir, 'package.json')) as {
        dependencies?: Record<string, string>;
      }
    ).dependencies;
    for (const d of Object.keys(deps ?? {})) if (!d.startsWith('@polymodal/')) external.push(d);
  }
  await esbuild.build({
    entryPoints: [join(here, 'crash-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    conditions: ['@polymodal/source'],
    external,
    logLevel: 'error',
    logOverride: {},
  });
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function runChild(
  ckpt: string,
  out: string,
  pauseAt: number,
): Promise<{ lines: string[]; signal: NodeJS.Signals | null }> {
  const nodePath = [
    join(pkg, 'node_modules'),
    ...['tensor', 'nn'].map((n) =>
      join(realpathSync(join(pkg, 'node_modules/@polymodal', n)), 'node_modules'),
    ),
  ];
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [bundle, ckpt, out, String(pauseAt)], {
      env: { ...process.env, NODE_PATH: nodePath.join(':') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        if (line === 'paused') child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === null && code !== 0) reject(new Error(`child exited with ${code}: ${err}`));
      else resolve({ lines, signal });
    });
  });
}

describe('crash safety', () => {
  it('a run killed with SIGKILL resumes from its last checkpoint and matches an uninterrupted run', async () => {
    const ref = await makeTrainer(join(work, 'ref-ckpt'), join(work, 'ref-out')).train();
    expect(ref.history.train.map((l) => l.step)).toEqual(Array.from({ length: MAX_STEPS }, (_, i) => i + 1));

    const ckpt = join(work, 'ckpt');
    const out = join(work, 'out');
    const { lines, signal } = await runChild(ckpt, out, 10);
    expect(signal).toBe('SIGKILL');
    expect(lines).toContain('paused');
    expect(lines).not.toContain('finished');
    // The child's own losses before the crash already match the reference.
    const childLosses = lines.filter((l) => l.startsWith('step ')).map((l) => Number(l.split(' ')[2]));
    expect(childLosses).toEqual(ref.history.train.slice(0, 10).map((l) => l.loss));
    // checkpointEvery 2, keepLast 2: steps 6 (an epoch end: 5 batches, accumulation 2, so 3 steps
    // per epoch) and 8 (mid-epoch) survive; the child was killed before step 10's checkpoint.
    expect(
      readdirSync(ckpt)
        .filter((n) => n.startsWith('checkpoint-'))
        .sort(),
    ).toEqual(['checkpoint-00000006', 'checkpoint-00000008']);

    const resumed = await makeTrainer(ckpt, out).train({ resume: true });
    expect(resumed.resumedFrom).toBe(8);
    const after = resumed.history.train.filter((l) => l.step > 8);
    expect(after.map((l) => l.step)).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect(after).toEqual(ref.history.train.slice(8));
    // The metrics log has one line per step, the crashed tail (steps 9, 10) replaced.
    expect(resumed.history.train.map((l) => l.step)).toEqual(ref.history.train.map((l) => l.step));
  }, 120_000);

  it('a truncated checkpoint is detected and the previous good one is used', async () => {
    const ckpt = join(work, 'trunc-ckpt');
    const out = join(work, 'trunc-out');
    const ref = await makeTrainer(ckpt, out).train();
    // Final checkpoint is step 16, the one before is 14; damage 16.
    expect(
      readdirSync(ckpt)
        .filter((n) => n.startsWith('checkpoint-'))
        .sort(),
    ).toEqual(['checkpoint-00000014', 'checkpoint-00000016']);
    truncateSync(join(ckpt, 'checkpoint-00000016', 'model.safetensors'), 100);
    const logs: string[] = [];
    const trainer = makeTrainer(ckpt, out);
    trainer.options.log = (l) => logs.push(l);
    const step = await trainer.resume();
    expect(step).toBe(14);
    expect(logs.join('\n')).toMatch(/skipping checkpoint 16: .*model\.safetensors has 100 bytes/);
    const result = await trainer.train({ resume: true });
    expect(result.history.train.at(-1)).toEqual(ref.history.train.at(-1));
  }, 120_000);
});
