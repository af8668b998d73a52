import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@polymodal/app-kit';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from './bundle.js';
import { retrievalApp } from './commands.js';
import { readSplit } from './data.js';
import { embedImages, embedTokenized, encodeText } from './embed.js';
import type { EvalReport } from './evaluate.js';
import type { SearchResult } from './search.js';

const dir = mkdtempSync(join(tmpdir(), 'pm-retrieval-app-'));
const data = join(dir, 'data');
const runDir = join(dir, 'run');
const bundle = join(runDir, 'bundle');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(retrievalApp, argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const testSet = () => join(data, readdirSync(data).find((d) => d.startsWith('test-'))!);

describe('command line mistakes are caught before any work (exit 2, the flag named)', () => {
  it.each([
    [
      ['serch', '--text', 'x'],
      "unknown command 'serch' (did you mean 'search'?); valid commands: demo, train, index, search, eval",
    ],
    [['train', '--batch-size', '8'], "unknown option '--batch-size' for 'train'"],
    [['train', '--steps', '-5'], '--steps must be a positive integer, got "-5"'],
    [['train', '--quick', '--steps=-5'], '--steps must be a positive integer, got "-5"'],
    [['train', '--groups-per-batch', 'abc'], '--groups-per-batch must be a positive integer, got "abc"'],
    [['train', '--lr', '0'], '--lr must be a number > 0, got "0"'],
    [['train', '--stem', '32:2,64'], '--stem must be channels:stride pairs separated by commas'],
    [['train', '--stem', '0:2'], '--stem must be channels:stride pairs separated by commas'],
    [['train', '--image-pool', 'max'], '--image-pool must be one of attention, mean, got "max"'],
    [['train', '--caps-per-image', '-1'], '--caps-per-image must be a non-negative integer, got "-1"'],
    [['train', '--aux-weight', 'x'], '--aux-weight must be a number'],
    [['train', '--itm-head', 'mlp'], '--itm-head must be one of readout, fusion, got "mlp"'],
    [
      ['train', '--itm-head', 'readout', '--aux-embed-weight', '0'],
      '--itm-head readout matches a caption to an image through the scene read-outs of both embeddings: it needs --aux-embed-weight > 0 (got 0)',
    ],
    [
      ['train', '--neg-caps', '1', '--itm-gen-neg', '2'],
      '--itm-gen-neg 2 takes its ITM negatives from the generated false captions: it needs --neg-caps ≥ 2 (got --neg-caps 1)',
    ],
    [
      ['train', '--caps-per-image', '0'],
      '--aux-embed-weight 1 teaches the caption embedding the parse of generated captions: it needs --caps-per-image ≥ 1 (got 0)',
    ],
    [['search', '--text', ''], '--text must not be empty'],
    [['search', '--text', '   '], '--text must not be empty'],
    [['search'], 'give exactly one of --text and --image'],
    [['search', '--text', 'a', '--image', 'b.png'], 'give exactly one of --text and --image'],
    [
      ['search', '--text', 'red', '--bundle', '/nonexistent/bundle'],
      '--bundle /nonexistent/bundle does not exist',
    ],
    [['index', '--index-kind', 'faiss'], '--index-kind must be one of exact, hnsw, pgvector, got "faiss"'],
    [['eval', '--rerank', '-1'], '--rerank must be a non-negative integer, got "-1"'],
  ])('%j', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('train → index → search → eval on a quick run', () => {
  beforeAll(async () => {
    const r = await cli('train', '--quick', '--data-dir', data, '--run-dir', runDir, '--progress', 'none');
    if (r.code !== 0) throw new Error(r.err);
  }, 300_000);

  it('saves a bundle whose model id is the hash of its config and weights', async () => {
    expect(readdirSync(bundle).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'model_id.txt',
      'preprocessor_config.json',
      'vocab.txt',
    ]);
    const hash = createHash('sha256')
      .update(readFileSync(join(bundle, 'config.json')))
      .update(readFileSync(join(bundle, 'model.safetensors')))
      .digest('hex')
      .slice(0, 16);
    expect(readFileSync(join(bundle, 'model_id.txt'), 'utf8').trim()).toBe(hash);
    expect((await loadBundle(bundle)).modelId).toBe(hash);
    expect(JSON.parse(readFileSync(join(bundle, 'preprocessor_config.json'), 'utf8'))).toMatchObject({
      size: { height: 48, width: 48 },
      image_mean: [0.5, 0.5, 0.5],
    });
  });

  it('indexes, resumes without duplicates, skips unreadable files, searches with true cosine scores', async () => {
    const index = join(dir, 'index');
    const first = await cli(
      'index',
      '--bundle',
      bundle,
      '--images',
      testSet(),
      '--index',
      index,
      '--progress',
      'none',
    );
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/48 images added \(0 already there, 0 skipped\), 96 captions added/);
    const again = await cli(
      'index',
      '--bundle',
      bundle,
      '--images',
      testSet(),
      '--index',
      index,
      '--progress',
      'none',
    );
    expect(again.out).toMatch(
      /0 images added \(48 already there, 0 skipped\), 0 captions added \(96 already there\); now 48 images, 96 captions/,
    );

    const query = 'a small red circle above a large blue square';
    const r = await cli(
      'search',
      '--bundle',
      bundle,
      '--index',
      index,
      '--text',
      query,
      '--k',
      '5',
      '--json',
    );
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as SearchResult;
    expect(result.hits).toHaveLength(5);
    // Scores recomputed independently: the query and each hit's image embedded again, dot product.
    const b = await loadBundle(bundle);
    b.model.eval();
    const q = embedTokenized(b.model, [encodeText(b.tokenizer, query, b.config.maxLength)])[0]!;
    const { images } = await readSplit(testSet(), 'test2014', b.tokenizer, b.processor);
    const all = embedImages(
      b.model,
      images.map((im) => im.pixels),
    );
    const scores = all.map((v) => v.reduce((s, x, i) => s + x * q[i]!, 0));
    const best = scores.map((s, i) => [s, i] as const).sort((x, y) => y[0] - x[0]);
    result.hits.forEach((h, i) => {
      expect(h.payload.path).toBe(images[best[i]![1]]!.path);
      expect(h.score).toBeCloseTo(best[i]![0], 5);
    });

    const rr = JSON.parse(
      (
        await cli(
          'search',
          '--bundle',
          bundle,
          '--index',
          index,
          '--text',
          query,
          '--rerank',
          '6',
          '--k',
          '6',
          '--json',
        )
      ).out,
    ) as SearchResult;
    const itm = rr.hits.map((h) => h.itmScore!);
    expect([...itm].sort((x, y) => y - x)).toEqual(itm);
    expect(new Set(rr.hits.map((h) => h.key))).toEqual(
      new Set(best.slice(0, 6).map(([, i]) => images[i]!.path.split('/').pop())),
    );

    const byImage = JSON.parse(
      (
        await cli(
          'search',
          '--bundle',
          bundle,
          '--index',
          index,
          '--image',
          images[0]!.path,
          '--k',
          '3',
          '--json',
        )
      ).out,
    ) as SearchResult;
    expect(byImage.collection).toBe('texts');
    expect(byImage.hits[0]!.payload.caption).toMatch(/^a (small|large) /);

    // A folder with a non-image file and an empty "png": both skipped with a message, the rest indexed.
    const folder = join(dir, 'mixed');
    mkdirSync(folder);
    for (const im of images.slice(0, 3)) copyFileSync(im.path, join(folder, im.path.split('/').pop()!));
    writeFileSync(join(folder, 'notes.png'), 'this is not an image');
    writeFileSync(join(folder, 'empty.jpg'), '');
    const mixed = await cli(
      'index',
      '--bundle',
      bundle,
      '--images',
      folder,
      '--index',
      join(dir, 'mixed-index'),
      '--progress',
      'none',
    );
    expect(mixed.code).toBe(0);
    expect(mixed.err).toMatch(/skipping .*notes\.png/);
    expect(mixed.err).toMatch(/skipping .*empty\.jpg/);
    expect(mixed.out).toMatch(/3 images added \(0 already there, 2 skipped\)/);
    const noCaptions = await cli(
      'search',
      '--bundle',
      bundle,
      '--index',
      join(dir, 'mixed-index'),
      '--image',
      images[0]!.path,
    );
    expect(noCaptions.code).toBe(2);
    expect(noCaptions.err).toMatch(/holds no captions/);
    const unreadable = await cli(
      'search',
      '--bundle',
      bundle,
      '--index',
      index,
      '--image',
      join(folder, 'notes.png'),
    );
    expect(unreadable.code).toBe(2);
    expect(unreadable.err).toMatch(/--image .*notes\.png cannot be read as an image/);
  }, 300_000);

  it('HNSW finds what exact search finds on this index', async () => {
    const index = join(dir, 'hnsw');
    expect(
      (
        await cli(
          'index',
          '--bundle',
          bundle,
          '--images',
          testSet(),
          '--index',
          index,
          '--index-kind',
          'hnsw',
          '--progress',
          'none',
        )
      ).code,
    ).toBe(0);
    for (const text of [
      'a large green triangle to the left of a small gray square',
      'a small yellow circle below a large red circle',
    ]) {
      const approx = JSON.parse(
        (
          await cli(
            'search',
            '--bundle',
            bundle,
            '--index',
            index,
            '--index-kind',
            'hnsw',
            '--text',
            text,
            '--json',
          )
        ).out,
      ) as SearchResult;
      const exact = JSON.parse(
        (
          await cli(
            'search',
            '--bundle',
            bundle,
            '--index',
            index,
            '--index-kind',
            'hnsw',
            '--text',
            text,
            '--exact',
            '--json',
          )
        ).out,
      ) as SearchResult;
      expect(approx.hits.map((h) => h.key)).toEqual(exact.hits.map((h) => h.key));
    }
  }, 300_000);

  it('evaluates: Recall@K recomputed independently from the embeddings', async () => {
    const r = await cli('eval', '--bundle', bundle, '--data', testSet(), '--rerank', '4', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as EvalReport;
    expect(report.images).toBe(48);
    expect(report.captions).toBe(96);
    const b = await loadBundle(bundle);
    b.model.eval();
    const { images } = await readSplit(testSet(), 'test2014', b.tokenizer, b.processor);
    const iv = embedImages(
      b.model,
      images.map((im) => im.pixels),
    );
    let hits = 0;
    let n = 0;
    for (const [i, im] of images.entries()) {
      for (const c of im.captions) {
        const t = embedTokenized(b.model, [c.inputIds])[0]!;
        const s = (j: number) => iv[j]!.reduce((a, x, d) => a + x * t[d]!, 0);
        const own = s(i);
        // Rank 1: no image the caption is not true of scores higher (pessimistic about ties).
        const beaten = images.some((other, j) => j !== i && !c.holdsFor?.has(other.imageId) && s(j) >= own);
        hits += beaten ? 0 : 1;
        n++;
      }
    }
    expect(report.itc.textToImage.r1).toBeCloseTo((100 * hits) / n, 6);
    expect(report.rerank).not.toBeNull();
    expect(report.random.textToImage.r10).toBeGreaterThan(0);
    expect(Object.keys(report.perKind).sort()).toEqual(['object', 'original', 'relation', 'subject']);
  }, 300_000);

  it('refuses an index built by another model, naming both model ids', async () => {
    const other = join(dir, 'other-run');
    expect(
      (
        await cli(
          'train',
          '--quick',
          '--steps',
          '1',
          '--seed',
          '2',
          '--data-dir',
          data,
          '--run-dir',
          other,
          '--progress',
          'none',
        )
      ).code,
    ).toBe(0);
    const r = await cli(
      'index',
      '--bundle',
      join(other, 'bundle'),
      '--images',
      testSet(),
      '--index',
      join(dir, 'index'),
      '--progress',
      'none',
    );
    expect(r.code).toBe(1);
    const mine = readFileSync(join(bundle, 'model_id.txt'), 'utf8').trim();
    const theirs = readFileSync(join(other, 'bundle', 'model_id.txt'), 'utf8').trim();
    expect(r.err).toContain(`built with model ${mine}`);
    expect(r.err).toContain(`bundle is model ${theirs}`);
  }, 300_000);

  it('a database that is down fails within the timeout with a clear message', async () => {
    const s = createServer();
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((res) => s.close(() => res()));
    const started = Date.now();
    const r = await cli(
      'search',
      '--bundle',
      bundle,
      '--database-url',
      `postgres://me:pw@127.0.0.1:${port}/db`,
      '--text',
      'red',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /cannot use the database at postgres:\/\/me:\*\*\*@127\.0\.0\.1:\d+\/db: connection refused/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
