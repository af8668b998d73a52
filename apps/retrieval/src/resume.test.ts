import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointSteps, killAndRerun, runCliProcess } from '@polymodal/app-kit';
import { describe, expect, it } from 'vitest';
import { VectorLog } from './index/vector-log.js';

// These tests run the real CLI in child processes and SIGKILL them mid-run: what a crash, an OOM
// kill or a pulled plug does. Nothing is mocked.
const dir = mkdtempSync(join(tmpdir(), 'pm-retrieval-kill-'));
const data = join(dir, 'data');
const cli = join(import.meta.dirname, 'cli.ts');
const app = { cwd: join(import.meta.dirname, '..') };

type Line = { type: string; step: number; loss: number; losses: Record<string, number> };
const trainLines = (runDir: string): Line[] =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.type === 'train');

const TRAIN = [
  'train',
  '--quick',
  '--steps',
  '14',
  '--checkpoint-every',
  '2',
  '--dropout',
  '0.1',
  '--progress',
  'none',
];

describe('kill -9 and resume', () => {
  it('training killed mid-run resumes to the same losses, step for step, as an uninterrupted run', async () => {
    const straight = join(dir, 'straight');
    await runCliProcess(cli, [...TRAIN, '--data-dir', data, '--run-dir', straight], app);
    const killed = join(dir, 'killed');
    // Kill it between checkpoints, once a few are on disk.
    const { killed: killedRun, rerun } = await killAndRerun(cli, {
      ...app,
      args: [...TRAIN, '--data-dir', data, '--run-dir', killed],
      killWhen: () => checkpointSteps(killed).some((s) => s >= 6),
      waitingFor: 'the checkpoint of step 6',
      afterKill: () => {
        expect(trainLines(killed).length).toBeLessThan(14);
      },
      rerunArgs: [...TRAIN, '--data-dir', data, '--run-dir', killed, '--resume'],
    });
    expect(killedRun.code).toBeNull(); // killed, not finished
    expect(rerun).toMatch(/resumed from step \d+/);
    const a = trainLines(straight);
    const b = trainLines(killed);
    expect(a.map((l) => l.step)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    expect(b.map((l) => l.step)).toEqual(a.map((l) => l.step));
    // Exact equality: the same batches, drawn captions, false captions, dropout masks and hard
    // negatives after the resume (the default scene recipe: its auxiliary losses too).
    expect(Object.keys(a[0]!.losses).sort()).toEqual(['cells', 'itc', 'itm', 'readout']);
    for (let i = 0; i < a.length; i++) expect(b[i]!.losses).toEqual(a[i]!.losses);
    // The two bundles are the same model, byte for byte.
    expect(readFileSync(join(killed, 'bundle', 'model_id.txt'), 'utf8')).toBe(
      readFileSync(join(straight, 'bundle', 'model_id.txt'), 'utf8'),
    );
  }, 600_000);

  it('indexing killed mid-run resumes without duplicates, and the count is right', async () => {
    const bundle = join(dir, 'straight', 'bundle');
    const test = join(data, readdirSync(data).find((d) => d.startsWith('test-'))!);
    const index = join(dir, 'index');
    const args = [
      'index',
      '--bundle',
      bundle,
      '--images',
      test,
      '--index',
      index,
      '--batch-size',
      '4',
      '--progress',
      'none',
    ];
    const log = join(index, 'vectors.log');
    let had = -1;
    const { rerun: out } = await killAndRerun(cli, {
      ...app,
      args,
      killWhen: () => existsSync(log) && readFileSync(log).length > 2000,
      waitingFor: 'the first records',
      afterKill: () => {
        const partial = VectorLog.open(log, 64);
        had = partial.collections.images.size;
        partial.close();
      },
    });
    expect(had).toBeLessThan(48);
    expect(out).toMatch(new RegExp(`${48 - had} images added \\(${had} already there, 0 skipped\\)`));
    expect(out).toMatch(/now 48 images, 96 captions/);
    const l = VectorLog.open(log, 64);
    expect(l.collections.images.size).toBe(48);
    expect(new Set(l.collections.images.keys).size).toBe(48);
    expect(l.collections.texts.size).toBe(96);
    l.close();
  }, 600_000);
});
