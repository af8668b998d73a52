import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@polymodal/app-kit';
import { vqaApp } from '../src/commands.js';

/** The hand-made VQA v2 folder (mixed-size JPEG and PNG), see scripts/make-fixture.ts. */
export const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tiny-vqa');

/** A fresh temporary folder. */
export const tempDir = (prefix = 'polymodal-vqa-') => mkdtempSync(join(tmpdir(), prefix));

/** A writable copy of the fixture (for tests that break it). */
export function fixtureCopy(): string {
  const dir = join(tempDir(), 'tiny-vqa');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** Runs the app's CLI in this process and collects what it printed. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(vqaApp, argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Flags of a training run that takes seconds on the fixture. */
export const TINY_TRAIN = [
  '--data',
  FIXTURE,
  '--image-size',
  '16',
  '--steps',
  '3',
  '--pretrain-steps',
  '0',
  '--images-per-batch',
  '2',
  '--questions-per-image',
  '2',
  '--eval-every',
  '0',
  '--progress',
  'none',
] as const;
