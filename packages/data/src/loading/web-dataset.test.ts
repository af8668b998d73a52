import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { DatasetError } from '../datasets/dataset-error.js';
import { SkipReport } from '../datasets/skip-report.js';
import { decodeImage, encodePng } from '../image/decode-image.js';
import { createImage } from '../image/rgb-image.js';
import { batchStream } from './batch-stream.js';
import { readWebDataset } from './web-dataset.js';

async function writeShard(path: string, members: [string, Uint8Array | string][]): Promise<void> {
  const pack = tar.pack();
  for (const [name, content] of members) pack.entry({ name }, Buffer.from(content));
  pack.finalize();
  await pipeline(pack, createWriteStream(path));
}

describe('readWebDataset', () => {
  it('groups consecutive members by key across shards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-wds-'));
    const red = encodePng(createImage(4, 4, [255, 0, 0]));
    await writeShard(join(dir, 'shard-000.tar'), [
      ['s/000001.png', red],
      ['s/000001.json', JSON.stringify({ question: 'what color?', answer: 'red' })],
      ['s/000002.png', red],
      ['s/000002.txt', 'a red square'],
      ['s/000002.cls', '3'],
    ]);
    await writeShard(join(dir, 'shard-001.tar'), [
      ['000003.seg.png', red],
      ['000003.txt', 'third'],
    ]);
    const samples = [];
    for await (const s of readWebDataset([join(dir, 'shard-000.tar'), join(dir, 'shard-001.tar')]))
      samples.push(s);
    expect(samples.map((s) => s.key)).toEqual(['s/000001', 's/000002', '000003']);
    expect(samples[0]!.json).toEqual({ question: 'what color?', answer: 'red' });
    expect(samples[1]!.text).toBe('a red square');
    expect(Object.keys(samples[1]!.files).sort()).toEqual(['cls', 'png', 'txt']);
    expect(Object.keys(samples[2]!.files).sort()).toEqual(['seg.png', 'txt']);
    const img = await decodeImage(samples[0]!.files.png!);
    expect(Array.from(img.data.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  it('shuffles shards reproducibly and batches the stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-wds-'));
    const shards: string[] = [];
    for (let s = 0; s < 5; s++) {
      const path = join(dir, `shard-${s}.tar`);
      await writeShard(path, [
        [`${s}-a.txt`, `shard ${s} a`],
        [`${s}-b.txt`, `shard ${s} b`],
      ]);
      shards.push(path);
    }
    const keys = async (seed: number) => {
      const out: string[] = [];
      for await (const s of readWebDataset(shards, { shuffleShards: true, seed })) out.push(s.key);
      return out;
    };
    const k1 = await keys(3);
    expect(k1).toEqual(await keys(3));
    expect(k1).toHaveLength(10);
    expect(k1).not.toEqual(['0-a', '0-b', '1-a', '1-b', '2-a', '2-b', '3-a', '3-b', '4-a', '4-b']);
    // Samples within a shard keep their order.
    for (let i = 0; i < 10; i += 2) expect(k1[i]!.replace('-a', '-b')).toBe(k1[i + 1]);
    const batches: string[][] = [];
    for await (const b of batchStream(readWebDataset(shards), {
      batchSize: 4,
      collate: (s) => s.map((x) => x.text!),
    })) {
      batches.push(b);
    }
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(batches[2]).toEqual(['shard 4 a', 'shard 4 b']);
    const dropped = [];
    for await (const b of batchStream([1, 2, 3], { batchSize: 2, collate: (s) => s, dropLast: true }))
      dropped.push(b);
    expect(dropped).toEqual([[1, 2]]);
  });

  it('fails on a missing shard', async () => {
    const it = readWebDataset('/nonexistent/shard.tar');
    await expect(it.next()).rejects.toThrow(/ENOENT/);
  });

  it('refuses member names that leave the shard, naming shard and member; skips them when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-wds-'));
    const shard = join(dir, 'evil.tar');
    await writeShard(shard, [
      ['000001.txt', 'fine'],
      ['../../escape/x.txt', 'out'],
      ['/abs/path.txt', 'abs'],
      ['a/../../b.txt', 'sneaky'],
      ['000002.txt', 'also fine'],
    ]);
    const keys = async (options = {}) => {
      const out: string[] = [];
      for await (const s of readWebDataset(shard, options)) out.push(s.key);
      return out;
    };
    await expect(keys()).rejects.toThrow(DatasetError);
    await expect(keys()).rejects.toThrow(
      /readWebDataset: .*evil\.tar: member "\.\.\/\.\.\/escape\/x\.txt": a '\.\.' segment leads outside the shard/,
    );
    const report = new SkipReport();
    expect(await keys({ onError: 'skip', report })).toEqual(['000001', '000002']);
    expect(report.skipped.map((x) => x.reason)).toEqual([
      "a '..' segment leads outside the shard",
      'absolute path',
      "a '..' segment leads outside the shard",
    ]);
    expect(report.skipped[1]!.item).toMatch(/evil\.tar: \/abs\/path\.txt$/);
  });

  it('a malformed JSON member and a truncated shard throw DatasetErrors naming shard and member', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-wds-'));
    const bad = join(dir, 'bad-json.tar');
    await writeShard(bad, [
      ['000001.json', '{"ok": true}'],
      ['000002.json', '{"answer": '],
      ['000003.json', '{"ok": 3}'],
    ]);
    const read = async (path: string, options = {}) => {
      const out: unknown[] = [];
      for await (const s of readWebDataset(path, options)) out.push(s.json);
      return out;
    };
    await expect(read(bad)).rejects.toThrow(/bad-json\.tar: member 000002\.json: invalid JSON/);
    const report = new SkipReport();
    expect(await read(bad, { onError: 'skip', report })).toEqual([{ ok: true }, { ok: 3 }]);
    expect(report.summary()).toMatch(
      /^skipped 1 of 3: .*bad-json\.tar: 000002: member 000002\.json: invalid JSON/,
    );

    const whole = join(dir, 'whole.tar');
    await writeShard(whole, [
      ['000001.txt', 'x'.repeat(3000)],
      ['000002.txt', 'y'.repeat(3000)],
    ]);
    const cut = join(dir, 'cut.tar');
    const bytes = readFileSync(whole);
    writeFileSync(cut, bytes.subarray(0, 512 + 3072 + 512 + 1000)); // inside the second member
    await expect(read(cut)).rejects.toThrow(DatasetError);
    await expect(read(cut)).rejects.toThrow(
      /cut\.tar: corrupt or truncated tar in member 000002\.txt: Unexpected end of data/,
    );
    await expect(read(join(dir, 'missing.tar'))).rejects.toThrow(
      /missing\.tar: corrupt or truncated tar before its first member: .*ENOENT/,
    );
  });
});
