import { createReadStream } from 'node:fs';
import { basename, dirname, posix, win32 } from 'node:path';
import { Generator } from '@polymodal/tensor';
import tar from 'tar-stream';
import { DatasetError } from '../datasets/dataset-error.js';
import { type OnError, SkipReport } from '../datasets/skip-report.js';

/** One WebDataset sample: the members of a shard sharing a key, by extension. */
export interface WebDatasetSample {
  /** Member path up to the first dot of its file name (`shard/000123`); always relative, no `..`. */
  key: string;
  /** Which shard it came from. */
  shard: string;
  /** Raw bytes by extension (`jpg`, `png`, `json`, `txt`, `cls`, …). */
  files: Record<string, Uint8Array>;
  /** Parsed `json` member, when present. */
  json?: unknown;
  /** Decoded `txt` member, when present. */
  text?: string;
}

function splitKey(name: string): { key: string; ext: string } {
  const base = basename(name);
  const dot = base.indexOf('.');
  const dir = dirname(name);
  const stem = dot < 0 ? base : base.slice(0, dot);
  return {
    key: dir === '.' ? stem : posix.join(dir, stem),
    ext: dot < 0 ? '' : base.slice(dot + 1).toLowerCase(),
  };
}

/**
 * Why a member name may not be used as a key, or null: keys end up as paths (a writer extracting a
 * shard, a cache), so they must stay relative and inside the shard.
 */
function unsafeMemberName(name: string): string | null {
  if (name === '' || name.includes('\0')) return 'empty name or a NUL byte in it';
  if (posix.isAbsolute(name) || win32.isAbsolute(name)) return 'absolute path';
  if (name.split(/[\\/]/).includes('..')) return "a '..' segment leads outside the shard";
  return null;
}

export interface ReadWebDatasetOptions {
  /** Shard-level shuffle (samples inside a shard stay in order), seeded for reproducibility. */
  shuffleShards?: boolean;
  seed?: number;
  /**
   * `'throw'` (default): a member with an unsafe name (absolute, or with `..`) or a malformed JSON
   * member throws a `DatasetError` naming shard and member. `'skip'`: the member (or the sample,
   * for bad JSON) is skipped and recorded in `report`. A truncated or corrupt shard always throws.
   */
  onError?: OnError;
  report?: SkipReport;
}

/**
 * Streams samples from WebDataset-style `.tar` shards (Aizman et al. 2019, "High Performance I/O
 * for Large Scale Deep Learning"): consecutive members `key.jpg`/`key.png` + `key.json`/`key.txt`
 * group into one sample. Shards are read one after another without loading them whole, optionally
 * in a seeded shuffled order (`shuffleShards`). Shards come from others: a member named with an
 * absolute path or a `..` segment is refused (or skipped), and every error (bad JSON, a truncated
 * or corrupt tar) is a `DatasetError` naming the shard and the member.
 *
 * ```ts
 * for await (const s of readWebDataset(['shard-000.tar', 'shard-001.tar'])) {
 *   const img = await decodeImage(s.files.jpg!, { file: s.key }); const caption = s.text;
 * }
 * ```
 */
export async function* readWebDataset(
  shards: string | readonly string[],
  options: ReadWebDatasetOptions = {},
): AsyncGenerator<WebDatasetSample> {
  const onError = options.onError ?? 'throw';
  const report = options.report ?? new SkipReport();
  const list = typeof shards === 'string' ? [shards] : [...shards];
  if (options.shuffleShards) {
    // Shard-level shuffle (samples inside a shard stay in order), seeded for reproducibility.
    const g = new Generator(options.seed ?? 0);
    for (let i = list.length - 1; i > 0; i--) {
      const j = g.integer(0, i + 1);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
  }
  const fail = (shard: string, message: string): never => {
    throw new DatasetError('readWebDataset', shard, message);
  };
  for (const shard of list) {
    const extract = tar.extract();
    createReadStream(shard)
      .on('error', (e) => extract.destroy(e))
      .pipe(extract);
    let current: WebDatasetSample | null = null;
    let lastMember: string | null = null;
    let inMember = false;
    /** The sample, finished; null when it was skipped. */
    const finish = (s: WebDatasetSample): WebDatasetSample | null => {
      const decoder = new TextDecoder();
      if (s.files.json) {
        const member = `${s.key}.json`;
        try {
          s.json = JSON.parse(decoder.decode(s.files.json));
        } catch (e) {
          const reason = `member ${member}: invalid JSON (${(e as Error).message})`;
          if (onError === 'throw') fail(shard, reason);
          report.skip(`${shard}: ${s.key}`, reason);
          return null;
        }
      }
      if (s.files.txt) s.text = decoder.decode(s.files.txt);
      return s;
    };
    try {
      for await (const entry of extract) {
        const name = entry.header.name;
        lastMember = name;
        inMember = true;
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        inMember = false;
        if (entry.header.type !== 'file') continue;
        const unsafe = unsafeMemberName(name);
        if (unsafe) {
          if (onError === 'throw') fail(shard, `member ${JSON.stringify(name)}: ${unsafe}`);
          report.skip(`${shard}: ${name}`, unsafe);
          continue;
        }
        const { key, ext } = splitKey(name);
        if (current && current.key !== key) {
          const done = finish(current);
          current = null;
          if (done) yield done;
        }
        if (!current) {
          current = { key, shard, files: {} };
          report.total += 1;
        }
        current.files[ext] = new Uint8Array(Buffer.concat(chunks));
      }
    } catch (e) {
      if (e instanceof DatasetError) throw e;
      // tar-stream's own errors ("Unexpected end of data", bad checksums) name neither.
      const where =
        lastMember === null ? 'before its first member' : `${inMember ? 'in' : 'after'} member ${lastMember}`;
      fail(shard, `corrupt or truncated tar ${where}: ${(e as Error).message}`);
    }
    if (current) {
      const done = finish(current);
      if (done) yield done;
    }
  }
}
