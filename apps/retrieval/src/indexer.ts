import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { createProgressBar, type ProgressMode, UsageError, withEval } from '@polymodal/app-kit';
import { decodeImageFile, type RgbImage, readCocoCaptions } from '@polymodal/data';
import type { Bundle } from './bundle.js';
import { embedImages, embedTokenized, encodeText } from './embed.js';
import { EmbeddedIndex, HNSW_DEFAULTS } from './index/embedded-index.js';
import { PgVectorIndex } from './index/pgvector-index.js';
import { connectSql, redactUrl } from './index/sql-client.js';
import type { IndexItem, VectorIndex } from './index/vector-index.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export interface IndexSource {
  /** Images: key (path relative to the root) and absolute path. */
  images: { key: string; path: string }[];
  /** Captions (from a COCO captions file), keyed `caption:<id>`, pointing at their image's key. */
  captions: { key: string; caption: string; imageKey: string; imageId: number }[];
  root: string;
  /** Entries of the captions file whose image is missing (not indexed). */
  missing?: string[];
}

/**
 * What to index: a folder of images (every image file in it, sorted by name), a COCO captions
 * file with its image folder, or a generated dataset folder (its `annotations/captions_*.json` and
 * image folder found automatically).
 *
 * ```ts
 * resolveSource('data/retrieval/test-1000-48px-seed1');            // dataset: images + captions
 * resolveSource('photos/', 'photos/captions.json');               // COCO captions + images
 * ```
 */
export async function resolveSource(images: string, captionsFile?: string): Promise<IndexSource> {
  if (!existsSync(images)) throw new UsageError(`--images ${images} does not exist`);
  let root = resolve(images);
  let annotations = captionsFile ? resolve(captionsFile) : undefined;
  if (!annotations && statSync(root).isDirectory() && existsSync(join(root, 'annotations'))) {
    const found = readdirSync(join(root, 'annotations')).filter((f) => /^captions_.*\.json$/.test(f));
    if (found.length === 1) {
      annotations = join(root, 'annotations', found[0]!);
      const split = found[0]!.slice('captions_'.length, -'.json'.length);
      if (existsSync(join(root, split))) root = join(root, split);
    }
  }
  if (annotations) {
    if (!existsSync(annotations)) throw new UsageError(`--captions ${captionsFile} does not exist`);
    const { samples, report } = await readCocoCaptions({
      annotationsFile: annotations,
      imageDir: root,
      onError: 'skip',
    });
    const imageList = samples.map((s) => ({ key: relative(root, s.imagePath), path: s.imagePath }));
    const captions = samples.flatMap((s) =>
      s.captions.map((caption, k) => ({
        key: `caption:${s.captionIds[k]}`,
        caption,
        imageKey: relative(root, s.imagePath),
        imageId: s.imageId,
      })),
    );
    return {
      images: imageList,
      captions,
      root,
      missing: report.skipped.map((x) => `${x.item}: ${x.reason}`),
    };
  }
  if (statSync(root).isFile()) {
    return { images: [{ key: basename(root), path: root }], captions: [], root: resolve(root, '..') };
  }
  const files = readdirSync(root)
    .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
    .sort();
  if (files.length === 0)
    throw new UsageError(`--images ${images} holds no image files (${[...IMAGE_EXTENSIONS].join(', ')})`);
  return { images: files.map((f) => ({ key: f, path: join(root, f) })), captions: [], root };
}

export interface IndexTarget {
  kind: 'exact' | 'hnsw' | 'pgvector';
  /** Folder of an embedded index. */
  dir: string;
  /** PostgreSQL URL (`postgres://…`, or `pglite://<folder>` for an in-process PGlite). */
  databaseUrl?: string;
  table?: string;
  /** HNSW search breadth. Default 128. */
  efSearch?: number;
}

/** Opens (or creates) the index an index/search command points at, checked against the bundle. */
export async function openIndex(
  target: IndexTarget,
  bundle: Pick<Bundle, 'modelId' | 'config'>,
): Promise<VectorIndex> {
  const expected = { modelId: bundle.modelId, dimension: bundle.config.embedDim };
  if (target.databaseUrl) {
    const db = await connectSql(target.databaseUrl);
    try {
      return await PgVectorIndex.open(db, {
        ...expected,
        location: redactUrl(target.databaseUrl),
        efSearch: target.efSearch ?? 128,
        ...(target.table ? { table: target.table } : {}),
      });
    } catch (e) {
      await db.close().catch(() => {});
      throw e;
    }
  }
  if (target.kind === 'pgvector') throw new UsageError('--index-kind pgvector needs --database-url');
  return EmbeddedIndex.open({
    dir: target.dir,
    kind: target.kind,
    ...expected,
    expansionSearch: target.efSearch ?? HNSW_DEFAULTS.expansionSearch,
  });
}

export interface IndexRunResult {
  images: { total: number; added: number; skipped: number; alreadyIndexed: number };
  captions: { total: number; added: number; alreadyIndexed: number };
  seconds: number;
  /** Images embedded and stored per second (this run's new images only). */
  imagesPerSecond: number;
  location: string;
}

/**
 * Embeds a source's images and captions in batches into an index, with a progress bar. Keys
 * already in the index are skipped before any work (a crashed run resumes without duplicates);
 * an image that cannot be read is skipped with a message and indexing goes on.
 */
export async function indexCollection(
  bundle: Bundle,
  index: VectorIndex,
  source: IndexSource,
  options: {
    batchSize: number;
    progress: ProgressMode;
    log: (line: string) => void;
    error?: (line: string) => void;
  },
): Promise<IndexRunResult> {
  const { model, tokenizer, processor, config } = bundle;
  const log = options.log;
  const warn = options.error ?? log;
  const started = performance.now();
  const result: IndexRunResult = {
    images: { total: source.images.length, added: 0, skipped: 0, alreadyIndexed: 0 },
    captions: { total: source.captions.length, added: 0, alreadyIndexed: 0 },
    seconds: 0,
    imagesPerSecond: 0,
    location: index.location,
  };
  for (const m of source.missing ?? []) warn(`skipping ${m}`);
  const total = source.images.length + source.captions.length;
  const progress = createProgressBar('index', total, options.progress, log);
  let done = 0;
  let embedSeconds = 0;
  await withEval(model, async () => {
    for (let at = 0; at < source.images.length; at += options.batchSize) {
      const batch = source.images.slice(at, at + options.batchSize);
      const have = await index.existingKeys(
        'images',
        batch.map((b) => b.key),
      );
      result.images.alreadyIndexed += have.size;
      const todo = batch.filter((b) => !have.has(b.key));
      const pixels: RgbImage[] = [];
      const kept: typeof todo = [];
      for (const item of todo) {
        try {
          pixels.push(processor.preprocess(await decodeImageFile(item.path)));
          kept.push(item);
        } catch (e) {
          result.images.skipped++;
          warn(`skipping ${item.path}: ${(e as Error).message}`);
        }
      }
      const t0 = performance.now();
      const vectors = embedImages(model, pixels);
      const items: IndexItem[] = kept.map((item, i) => ({
        collection: 'images',
        key: item.key,
        payload: { path: item.path },
        vector: vectors[i]!,
      }));
      await index.add(items);
      embedSeconds += (performance.now() - t0) / 1000;
      result.images.added += items.length;
      done += batch.length;
      progress.update(done, `images added ${result.images.added}, skipped ${result.images.skipped}`);
    }
    for (let at = 0; at < source.captions.length; at += options.batchSize) {
      const batch = source.captions.slice(at, at + options.batchSize);
      const have = await index.existingKeys(
        'texts',
        batch.map((b) => b.key),
      );
      result.captions.alreadyIndexed += have.size;
      const todo = batch.filter((b) => !have.has(b.key));
      const vectors = embedTokenized(
        model,
        todo.map((c) => encodeText(tokenizer, c.caption, config.maxLength)),
      );
      await index.add(
        todo.map((c, i) => ({
          collection: 'texts',
          key: c.key,
          payload: { caption: c.caption, imageKey: c.imageKey, imageId: c.imageId },
          vector: vectors[i]!,
        })),
      );
      result.captions.added += todo.length;
      done += batch.length;
      progress.update(done, `captions added ${result.captions.added}`);
    }
  });
  progress.stop();
  result.seconds = (performance.now() - started) / 1000;
  result.imagesPerSecond = result.images.added > 0 ? result.images.added / Math.max(1e-9, embedSeconds) : 0;
  return result;
}
