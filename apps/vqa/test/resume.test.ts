import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointSteps, killAndRerun, runCliProcess } from '@polymodal/app-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE, tempDir } from './helpers.js';

// The real CLI in child processes, SIGKILLed mid-run: what a crash or an OOM kill does.
const dir = tempDir('polymodal-vqa-kill-');
const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
const app = { cwd: join(import.meta.dirname, '..') };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
    await runCliProcess(cli, [...TRAIN, '--run-dir', straight], app);
    const killed = join(dir, 'killed');
    const { killed: killedRun, rerun } = await killAndRerun(cli, {
      ...app,
      args: [...TRAIN, '--run-dir', killed],
      killWhen: () => checkpointSteps(killed).some((s) => s >= 6),
      waitingFor: 'the checkpoint of step 6',
      rerunArgs: [...TRAIN, '--run-dir', killed, '--resume'],
    });
    expect(killedRun.code).toBeNull(); // killed, not finished
    expect(rerun).toMatch(/resumed from/);
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
