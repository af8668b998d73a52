import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonFile, writeJsonAtomic } from './json-file.js';
import { createProgressBar } from './progress.js';
import { prepareRunDir } from './run-dir.js';
import { UsageError } from './usage-error.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'pm-app-kit-'));

describe('JSON files', () => {
  it('writes atomically (no temp file left) and reads back', async () => {
    const dir = tmp();
    const path = join(dir, 'sub', 'results.json');
    await writeJsonAtomic(path, { r1: 62.5, list: [1, 2] });
    await writeJsonAtomic(path, { r1: 63 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ r1: 63 });
    expect(readdirSync(join(dir, 'sub'))).toEqual(['results.json']);
    expect(await readJsonFile(path)).toEqual({ r1: 63 });
  });

  it('names the file in errors', async () => {
    const dir = tmp();
    await expect(readJsonFile(join(dir, 'nope.json'), 'bundle config')).rejects.toThrow(
      /bundle config .*nope\.json does not exist/,
    );
    writeFileSync(join(dir, 'bad.json'), '{"a":');
    const e = (await readJsonFile(join(dir, 'bad.json')).catch((x) => x)) as Error;
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/bad\.json is not valid JSON/);
  });
});

describe('prepareRunDir', () => {
  it('records the run and notes checkpoints a fresh run would ignore', async () => {
    const dir = join(tmp(), 'run');
    await expect(prepareRunDir(dir, { resume: true })).rejects.toThrow(
      /does not exist \(nothing to resume\)/,
    );
    const run = await prepareRunDir(dir, { config: { steps: 3 }, argv: ['train', '--steps', '3'] });
    expect(run.notes).toEqual([]);
    expect(JSON.parse(readFileSync(run.path('run.json'), 'utf8'))).toMatchObject({
      argv: ['train', '--steps', '3'],
      config: { steps: 3 },
      resume: false,
    });
    mkdirSync(join(run.checkpoints, 'checkpoint-2'), { recursive: true });
    expect((await prepareRunDir(dir)).notes[0]).toMatch(/1 checkpoint\(s\).*--resume/);
    expect((await prepareRunDir(dir, { resume: true })).notes).toEqual([]);
  });
});

describe('prepareRunDir resumeMustMatch', () => {
  it('refuses a resume whose recorded settings differ, naming each, and accepts the same ones', async () => {
    const dir = join(tmp(), 'run');
    const first = { '--curriculum': { questionTypes: ['shape'], steps: 300 }, '--images-per-batch': 26 };
    await prepareRunDir(dir, { resumeMustMatch: first });
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).resumeMustMatch).toEqual(first);
    const e = (await prepareRunDir(dir, {
      resume: true,
      resumeMustMatch: { '--images-per-batch': 13 },
    }).catch((x) => x)) as Error;
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(
      /--resume: --curriculum was \{"questionTypes":\["shape"\],"steps":300\} in .*run, now not set; --images-per-batch was 26 in .*run, now 13\. A resumed run continues the same data stream/,
    );
    // The refused resume left run.json as it was; the same settings resume.
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).resumeMustMatch).toEqual(first);
    await expect(prepareRunDir(dir, { resume: true, resumeMustMatch: { ...first } })).resolves.toBeDefined();
  });

  it('lets a run that recorded nothing resume (folders from before the check)', async () => {
    const dir = join(tmp(), 'run');
    await prepareRunDir(dir, { config: { steps: 3 } });
    await expect(
      prepareRunDir(dir, { resume: true, resumeMustMatch: { '--seed': 2 } }),
    ).resolves.toBeDefined();
  });
});

describe('createProgressBar', () => {
  it('logs about every 10 % when not on a terminal, and nothing in none mode', () => {
    const lines: string[] = [];
    const p = createProgressBar('index', 25, 'log', (l) => lines.push(l), false);
    for (let i = 1; i <= 25; i++) p.update(i, `added ${i}`);
    p.stop();
    expect(lines[0]).toBe('index 3/25 added 3');
    expect(lines.at(-1)).toBe('index 25/25 added 25');
    expect(lines.length).toBeLessThanOrEqual(10);
    const quiet: string[] = [];
    createProgressBar('x', 5, 'none', (l) => quiet.push(l)).update(5);
    expect(quiet).toEqual([]);
  });
});
