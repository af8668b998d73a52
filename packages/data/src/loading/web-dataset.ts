import { createReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Generator } from '@polymodal/tensor';
import tar from 'tar-stream';

/** One WebDataset sample: the members of a shard sharing a key, by extension. */
export interface WebDatasetSample {
  /** Member path up to the first dot of its file name (`shard/000123`). */
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
  return { key: dir === '.' ? stem : join(dir, stem), ext: dot < 0 ? '' : base.slice(dot + 1).toLowerCase() };
}

/**
 * Streams samples from WebDataset-style `.tar` shards (Aizman et al. 2019, "High Performance I/O
 * for Large Scale Deep Learning"): consecutive members `key.jpg`/`key.png` + `key.json`/`key.txt`
 * group into one sample. Shards are read one after another without loading them whole, optionally
 * in a seeded shuffled order (`shuffleShards`).
 *
 * ```ts
 * for await (const s of readWebDataset(['shard-000.tar', 'shard-001.tar'])) {
 *   const img = await decodeImage(s.files.jpg!, { file: s.key }); const caption = s.text;
 * }
 * ```
 */
export async function* readWebDataset(
  shards: string | readonly string[],
  options: { shuffleShards?: boolean; seed?: number } = {},
): AsyncGenerator<WebDatasetSample> {
  const list = typeof shards === 'string' ? [shards] : [...shards];
  if (options.shuffleShards) {
    // Shard-level shuffle (samples inside a shard stay in order), seeded for reproducibility.
    const g = new Generator(options.seed ?? 0);
    for (let i = list.length - 1; i > 0; i--) {
      const j = g.integer(0, i + 1);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
  }
  for (const shard of list) {
    const extract = tar.extract();
    createReadStream(shard)
      .on('error', (e) => extract.destroy(e))
      .pipe(extract);
    let current: WebDatasetSample | null = null;
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (entry.header.type !== 'file') continue;
      const { key, ext } = splitKey(entry.header.name);
      if (current && current.key !== key) {
        yield finish(current);
        current = null;
      }
      current ??= { key, shard, files: {} };
      current.files[ext] = new Uint8Array(Buffer.concat(chunks));
    }
    if (current) yield finish(current);
  }
}

function finish(s: WebDatasetSample): WebDatasetSample {
  const decoder = new TextDecoder();
  if (s.files.json) s.json = JSON.parse(decoder.decode(s.files.json));
  if (s.files.txt) s.text = decoder.decode(s.files.txt);
  return s;
}
