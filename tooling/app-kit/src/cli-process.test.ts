import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointSteps, killAndRerun, runCliProcess } from './cli-process.js';

// A tiny resumable "training run" as the child: `node counter.mjs <dir> <steps>` counts one step
// every 20 ms, writes the step it reached to <dir>/step after each, and starts from that file.
const COUNTER = `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const [dir, steps] = process.argv.slice(2);
const marker = join(dir, 'step');
let step = existsSync(marker) ? Number(readFileSync(marker, 'utf8')) : 0;
if (step > 0) console.log('resumed from step ' + step);
if (Number(steps) < 0) { console.error('steps must be positive'); process.exit(3); }
const timer = setInterval(() => {
  step += 1;
  writeFileSync(marker, String(step));
  console.log('step ' + step);
  if (step >= Number(steps)) { clearInterval(timer); console.error('done'); }
}, 20);
`;

function setup(): { script: string; dir: string; reached: () => number } {
  const root = mkdtempSync(join(tmpdir(), 'pm-app-kit-cli-'));
  const script = join(root, 'counter.mjs');
  writeFileSync(script, COUNTER);
  const dir = join(root, 'run');
  mkdirSync(dir);
  const marker = join(dir, 'step');
  return { script, dir, reached: () => (existsSync(marker) ? Number(readFileSync(marker, 'utf8')) : 0) };
}

const plain = { nodeArgs: [] };

describe('runCliProcess', () => {
  it('returns stdout and stderr of a run that exits 0', async () => {
    const { script, dir } = setup();
    const out = await runCliProcess(script, [dir, '3'], plain);
    expect(out.split('\n').filter(Boolean).sort()).toEqual(['done', 'step 1', 'step 2', 'step 3']);
  });

  it('throws with the exit code and the output otherwise', async () => {
    const { script, dir } = setup();
    await expect(runCliProcess(script, [dir, '-1'], plain)).rejects.toThrow(
      /counter\.mjs .* -1 exited with code 3:\nsteps must be positive/,
    );
  });
});

describe('killAndRerun', () => {
  it('SIGKILLs the run once the marker holds, then reruns it to the end', async () => {
    const { script, dir, reached } = setup();
    let atKill = -1;
    const { killed, rerun } = await killAndRerun(script, {
      ...plain,
      args: [dir, '30'],
      killWhen: () => reached() >= 3,
      waitingFor: 'step 3',
      afterKill: () => {
        atKill = reached();
      },
    });
    expect(killed.code).toBeNull();
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.out).toMatch(/step 3\n/);
    expect(killed.out).not.toMatch(/done/);
    expect(atKill).toBeGreaterThanOrEqual(3);
    expect(atKill).toBeLessThan(30);
    // The rerun starts where the killed run stopped and counts on to the end.
    expect(rerun).toMatch(new RegExp(`^resumed from step ${atKill}\\n`));
    expect(rerun).toMatch(/step 30\n/);
    expect(reached()).toBe(30);
  });

  it('reruns with other arguments when given', async () => {
    const { script, dir, reached } = setup();
    const { rerun } = await killAndRerun(script, {
      ...plain,
      args: [dir, '1000'],
      killWhen: () => reached() >= 2,
      waitingFor: 'step 2',
      rerunArgs: [dir, '12'],
    });
    expect(rerun).toMatch(/^resumed from step \d+\n/);
    expect(rerun).toMatch(/step 12\n/);
    expect(rerun).not.toMatch(/step 13/);
    expect(reached()).toBe(12);
  });

  it('fails, naming the marker, when the run ends before it or the wait times out', async () => {
    const { script, dir } = setup();
    await expect(
      killAndRerun(script, {
        ...plain,
        args: [dir, '2'],
        killWhen: () => false,
        waitingFor: 'the checkpoint',
      }),
    ).rejects.toThrow(/counter\.mjs exited with code 0 before the checkpoint:\n(.|\n)*done/);
    const other = setup();
    await expect(
      killAndRerun(other.script, {
        ...plain,
        args: [other.dir, '100000'],
        killWhen: () => false,
        waitingFor: 'a marker that never comes',
        timeoutMs: 300,
      }),
    ).rejects.toThrow(/timed out after 300 ms waiting for a marker that never comes/);
    // The child was killed, not left counting.
    const stopped = other.reached();
    await new Promise((r) => setTimeout(r, 150));
    expect(other.reached()).toBe(stopped);
  });
});

describe('checkpointSteps', () => {
  it("lists the finetune Trainer's checkpoint folders by step, ignoring its temporary ones", () => {
    const run = mkdtempSync(join(tmpdir(), 'pm-app-kit-ckpt-'));
    expect(checkpointSteps(run)).toEqual([]);
    for (const name of [
      'checkpoint-00000010',
      'checkpoint-00000002',
      '.tmp-checkpoint-12-99-1',
      'checkpoint-6',
    ]) {
      mkdirSync(join(run, 'checkpoints', name), { recursive: true });
    }
    expect(checkpointSteps(run)).toEqual([2, 6, 10]);
  });
});
