import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArgumentError } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from './checkpoint-error.js';
import { CheckpointStore } from './checkpoint-store.js';

const root = mkdtempSync(join(tmpdir(), 'finetune-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const bytes = (...v: number[]) => new Uint8Array(v);

describe('CheckpointStore', () => {
  it('keeps the last K, verifies checksums and falls back past damaged checkpoints', async () => {
    const dir = join(root, 'a');
    const store = new CheckpointStore(dir, 2);
    // A directory left by a writer that crashed mid-save (another pid): ignored, then cleaned up.
    mkdirSync(join(dir, '.tmp-checkpoint-7-999999-1'), { recursive: true });
    for (const step of [1, 2, 3])
      await store.save(step, { 'a.bin': bytes(step, 2, 3), 'b.json': bytes(123) });
    expect(readdirSync(dir).sort()).toEqual(['checkpoint-00000002', 'checkpoint-00000003']);
    expect(await store.steps()).toEqual([3, 2]);
    const latest = await store.loadLatest();
    expect(latest?.step).toBe(3);
    expect(Array.from(latest!.files['a.bin']!)).toEqual([3, 2, 3]);

    // Same size, one byte flipped: only the checksum can tell.
    const a3 = join(await store.pathFor(3), 'a.bin');
    writeFileSync(a3, bytes(9, 2, 3));
    await expect(store.load(3)).rejects.toThrow(CheckpointError);
    await expect(store.load(3)).rejects.toThrow(/a\.bin fails its SHA-256 checksum/);
    const skipped: number[] = [];
    expect((await store.loadLatest((s) => skipped.push(s)))?.step).toBe(2);
    expect(skipped).toEqual([3]);

    // No manifest (the rename never happened in a real crash, but be safe): skipped as well.
    rmSync(join(await store.pathFor(2), 'manifest.json'));
    expect(await store.loadLatest()).toBeNull();
  });

  it('a manifest that is valid JSON but not a manifest falls back like a corrupt one', async () => {
    // Issue 16: `{}` made loadLatest throw "TypeError: Cannot convert undefined or null to object".
    const dir = join(root, 'not-a-manifest');
    const store = new CheckpointStore(dir, 5);
    await store.save(1, { 'a.bin': bytes(1) });
    await store.save(2, { 'a.bin': bytes(2) });
    const manifest2 = join(await store.pathFor(2), 'manifest.json');
    const good = readFileSync(manifest2, 'utf8');
    const ok = JSON.parse(good);
    const sha = ok.files['a.bin'].sha256;
    const cases: [unknown, RegExp][] = [
      [{}, /not a checkpoint manifest: step undefined does not match the directory's step 2/],
      [[], /not a JSON object/],
      [null, /not a JSON object/],
      ['text', /not a JSON object/],
      [{ ...ok, step: 3 }, /step 3 does not match/],
      [{ ...ok, files: null }, /files is missing/],
      [{ ...ok, createdAt: undefined }, /createdAt is missing/],
      [{ ...ok, files: { 'a.bin': 7 } }, /a\.bin: bytes must be a non-negative integer/],
      [{ ...ok, files: { 'a.bin': { bytes: -1, sha256: sha } } }, /bytes must be a non-negative integer/],
      [{ ...ok, files: { 'a.bin': { bytes: 1, sha256: 'abc' } } }, /sha256 must be 64 hex digits/],
      [
        { ...ok, files: { '../../escape': { bytes: 1, sha256: sha } } },
        /"\.\.\/\.\.\/escape" is not a plain name/,
      ],
      [{ ...ok, files: { 'manifest.json': { bytes: 1, sha256: sha } } }, /not a plain name/],
    ];
    for (const [value, message] of cases) {
      writeFileSync(manifest2, JSON.stringify(value));
      await expect(store.load(2)).rejects.toThrow(CheckpointError);
      await expect(store.load(2)).rejects.toThrow(message);
      const skipped: string[] = [];
      const latest = await store.loadLatest((s, e) => skipped.push(`${s}: ${e.message}`));
      expect(latest?.step).toBe(1);
      expect(skipped).toHaveLength(1);
    }
    // A verified manifest that lacks a file the caller needs: also passed over when asked.
    writeFileSync(manifest2, JSON.stringify({ ...ok, files: {} }));
    expect((await store.loadLatest())?.step).toBe(2);
    expect((await store.loadLatest(undefined, { requiredFiles: ['a.bin'] }))?.step).toBe(1);
    writeFileSync(manifest2, good);
    expect((await store.loadLatest())?.step).toBe(2);
  });

  it('writes a manifest with sizes and SHA-256 and rejects bad arguments', async () => {
    const store = new CheckpointStore(join(root, 'b'));
    const path = await store.save(5, { 'x.bin': bytes(1, 2) });
    const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8'));
    // sha256 of the bytes 01 02, computed with `printf '\x01\x02' | sha256sum`.
    expect(manifest.files['x.bin']).toEqual({
      bytes: 2,
      sha256: 'a12871fee210fb8619291eaea194581cbd2531e4b23759d225f6806923f63222',
    });
    expect(existsSync(join(path, 'x.bin'))).toBe(true);
    // A bad argument, not a bad checkpoint: ArgumentError, as everywhere (issue #20).
    expect(() => new CheckpointStore(root, 0)).toThrow(ArgumentError);
    expect(() => new CheckpointStore(root, 0)).toThrow(
      'CheckpointStore: keepLast must be a positive integer, got 0',
    );
    await expect(store.save(6, { 'a/b': bytes(1) })).rejects.toThrow(/invalid file name/);
    expect(readdirSync(join(root, 'b'))).toEqual(['checkpoint-00000005']); // no temp dir left behind
  });
});
