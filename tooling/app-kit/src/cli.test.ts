import { describe, expect, it } from 'vitest';
import { type AppSpec, defineCommand, runCli } from './cli.js';
import { choice, flag, int, number, string } from './options.js';
import { UsageError } from './usage-error.js';

const calls: Record<string, unknown>[] = [];
const train = defineCommand({
  name: 'train',
  summary: 'train something',
  options: {
    steps: int({ description: 'optimizer steps', default: 400 }),
    batchSize: int({ description: 'batch size', default: 64 }),
    lr: number({ description: 'peak learning rate', default: 2e-3, min: 0, exclusiveMin: true }),
    shift: int({ description: 'any integer', default: 0, min: Number.NEGATIVE_INFINITY }),
    progress: choice({ description: 'progress', choices: ['auto', 'bar', 'log', 'none'], default: 'auto' }),
    resume: flag({ description: 'continue', default: false }),
    name: string({ description: 'a name' }),
  },
  presets: { quick: { description: 'a tiny run', values: { steps: 20, batchSize: 8 } } },
  run: (options, ctx) => {
    calls.push({ ...options, explicit: [...ctx.explicit].sort(), presets: ctx.presets });
  },
});
const search = defineCommand({
  name: 'search',
  summary: 'search',
  options: {
    text: string({ description: 'query text' }),
    image: string({ description: 'query image' }),
    bundle: string({ description: 'model bundle', required: true }),
  },
  validate: (o) => {
    if ((o.text === undefined) === (o.image === undefined))
      throw new UsageError('give exactly one of --text and --image');
  },
  run: () => {
    throw new Error('the index is corrupt');
  },
});
const app: AppSpec = { name: 'demo-app', commands: [train, search], defaultCommand: 'train' };

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  calls.length = 0;
  const code = await runCli(app, argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n'), call: calls[0] };
}

describe('runCli', () => {
  it('runs the default command with defaults when no command is named', async () => {
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.call).toMatchObject({ steps: 400, batchSize: 64, lr: 2e-3, progress: 'auto', resume: false });
    expect(r.call!.name).toBeUndefined();
  });

  it('names the flag and the text typed for a bad value, exit code 2, no stack', async () => {
    const r = await run('train', '--batch-size', 'abc');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--batch-size must be a positive integer, got "abc"');
    expect(r.err).toContain("run 'demo-app train --help' for usage");
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.call).toBeUndefined(); // nothing ran
    expect((await run('train', '--lr', '0')).err).toContain('--lr must be a number > 0, got "0"');
    expect((await run('train', '--steps', '1.5')).err).toContain(
      '--steps must be a positive integer, got "1.5"',
    );
    expect((await run('train', '--progress', 'fancy')).err).toContain(
      '--progress must be one of auto, bar, log, none, got "fancy"',
    );
  });

  it('parses negative numbers as values, in both spellings', async () => {
    for (const argv of [
      ['train', '--steps', '-5'],
      ['train', '--steps=-5'],
    ]) {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toContain('--steps must be a positive integer, got "-5"');
    }
    expect((await run('train', '--shift', '-3')).call).toMatchObject({ shift: -3 });
    expect((await run('train', '--shift', '-0.5')).err).toContain('--shift must be an integer, got "-0.5"');
  });

  it('lets explicit flags win over presets, in any order', async () => {
    expect((await run('train', '--quick')).call).toMatchObject({
      steps: 20,
      batchSize: 8,
      presets: ['quick'],
    });
    expect((await run('train', '--quick', '--steps', '5')).call).toMatchObject({ steps: 5, batchSize: 8 });
    expect((await run('train', '--steps', '5', '--quick')).call).toMatchObject({
      steps: 5,
      explicit: ['steps'],
    });
    // An explicit bad value is still checked under a preset.
    expect((await run('train', '--quick', '--steps=-5')).code).toBe(2);
  });

  it('refuses unknown commands and options, listing the valid ones', async () => {
    const c = await run('trian');
    expect(c.code).toBe(2);
    expect(c.err).toContain("unknown command 'trian' (did you mean 'train'?); valid commands: train, search");
    const o = await run('train', '--batchsize', '3');
    expect(o.code).toBe(2);
    expect(o.err).toContain("unknown option '--batchsize' for 'train' (did you mean '--batch-size'?)");
    expect(o.err).toContain('valid options: --steps, --batch-size, --lr');
    expect((await run('train', 'index')).err).toContain("unexpected argument 'index' for 'train'");
    expect((await run('train', '-x')).err).toContain("unknown option '-x'");
    expect((await run('train', '--steps')).err).toContain('--steps needs a value');
    expect((await run('train', '--steps', '--quick')).err).toContain('--steps needs a value');
    expect((await run('train', '--resume=yes')).err).toContain('--resume is a switch and takes no value');
  });

  it('switches, negations and text values stay as typed', async () => {
    expect((await run('train', '--resume')).call).toMatchObject({ resume: true });
    expect((await run('train', '--resume', '--no-resume')).call).toMatchObject({ resume: false });
    expect((await run('train', '--name', '007')).call).toMatchObject({ name: '007' });
    expect((await run('train', '--name', '')).err).toContain('--name must not be empty');
    expect((await run('train', '--name=a=b')).call).toMatchObject({ name: 'a=b' });
  });

  it('checks required options and cross-flag rules before running', async () => {
    expect((await run('search', '--text', 'red')).err).toContain("--bundle is required for 'search'");
    const both = await run('search', '--bundle', 'b', '--text', 'x', '--image', 'y');
    expect(both.code).toBe(2);
    expect(both.err).toContain('give exactly one of --text and --image');
  });

  it('exits 1 with the message for a runtime error; --debug adds the stack', async () => {
    const r = await run('search', '--bundle', 'b', '--text', 'red');
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: the index is corrupt');
    expect(r.err).not.toMatch(/\n\s+at /);
    const d = await run('search', '--bundle', 'b', '--text', 'red', '--debug');
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/\n\s+at /);
    const u = await run('train', '--steps', 'x', '--debug');
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/UsageError[\s\S]*\n\s+at /);
  });

  it('prints help for the app and for a command', async () => {
    const all = await run('--help');
    expect(all.code).toBe(0);
    expect(all.out).toContain('Commands:');
    expect(all.out).toMatch(/train\s+train something/);
    const one = await run('train', '--help');
    expect(one.out).toContain('--batch-size <n>');
    expect(one.out).toContain('(default: 64)');
    expect(one.out).toContain('--quick');
    expect(one.out).toContain('--steps 20, --batch-size 8');
    expect(one.out).toContain('--debug');
  });
});
