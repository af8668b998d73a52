/**
 * Checkpoints keep their format: one written by the 0.1 Trainer (fixtures/checkpoint-0.1, see its
 * README) resumes with today's Trainer, and the run continues with the very losses the 0.1 Trainer
 * logged; a straight run of today's Trainer repeats all six.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Trainer } from '../src/trainer/node-trainer.js';
import { LEGACY_CHECKPOINT_STEP, LEGACY_STEPS, legacyOptions } from './legacy-run.js';

const fixture = new URL('./fixtures/checkpoint-0.1', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'finetune-legacy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const logged = JSON.parse(readFileSync(join(fixture, 'losses.json'), 'utf8')) as number[];

describe('a checkpoint written by the 0.1 Trainer', () => {
  it('today’s Trainer repeats the 0.1 run, loss for loss', async () => {
    const losses: number[] = [];
    await new Trainer(legacyOptions(join(root, 'straight'), losses) as never).train();
    expect(logged).toHaveLength(LEGACY_STEPS);
    expect(losses).toEqual(logged);
  });

  it('resumes with today’s Trainer and continues with the losses the 0.1 run logged', async () => {
    const dir = join(root, 'resumed');
    const name = `checkpoint-${String(LEGACY_CHECKPOINT_STEP).padStart(8, '0')}`;
    cpSync(join(fixture, name), join(dir, name), { recursive: true });
    const losses: number[] = [];
    const trainer = new Trainer(legacyOptions(dir, losses) as never);
    const result = await trainer.train({ resume: true });
    expect(result.resumedFrom).toBe(LEGACY_CHECKPOINT_STEP);
    expect(result.state).toMatchObject({ step: LEGACY_STEPS, epoch: 1, batchInEpoch: 1 });
    expect(losses).toEqual(logged.slice(LEGACY_CHECKPOINT_STEP));
  });
});
