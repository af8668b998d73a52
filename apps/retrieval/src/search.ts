import { UsageError, withEval } from '@polymodal/app-kit';
import { decodeImageFile, type RgbImage } from '@polymodal/data';
import type { Bundle } from './bundle.js';
import {
  disposeSequences,
  embedImages,
  embedTokenized,
  encodeText,
  itmScores,
  sequencesOf,
} from './embed.js';
import type { SearchHit, VectorIndex } from './index/vector-index.js';

export interface SearchQuery {
  text?: string;
  image?: string;
}

export interface RankedHit extends SearchHit {
  rank: number;
  /** ITM match score (`log p(match) − log p(no match)`) when re-ranked. */
  itmScore?: number;
}

export interface SearchResult {
  query: SearchQuery;
  /** `images` for a text query, `texts` (captions) for an image query. */
  collection: 'images' | 'texts';
  hits: RankedHit[];
  rerank: number;
  /** Seconds spent embedding the query, searching the index, re-ranking. */
  timings: { embed: number; search: number; rerank: number };
}

async function readImage(bundle: Bundle, path: string, what: string): Promise<RgbImage> {
  try {
    return bundle.processor.preprocess(await decodeImageFile(path));
  } catch (e) {
    throw new UsageError(`${what} ${path} cannot be read as an image: ${(e as Error).message}`);
  }
}

/**
 * Searches an index by text (finds images) or by image (finds captions): the query is embedded
 * with the bundle's tower, the index returns its top `k` by cosine similarity, and with `rerank`
 * > 0 the top `rerank` hits are re-ordered by the ITM head's match score (as ALBEF and BLIP
 * re-rank), hits below them keep their order.
 *
 * ```ts
 * const r = await search(bundle, index, { text: 'a small red circle above a large blue square' }, { k: 5, rerank: 16 });
 * r.hits[0].payload.path;
 * ```
 */
export async function search(
  bundle: Bundle,
  index: VectorIndex,
  query: SearchQuery,
  options: { k: number; rerank: number; exact?: boolean },
): Promise<SearchResult> {
  const { model, tokenizer, config } = bundle;
  if ((query.text === undefined) === (query.image === undefined)) {
    throw new UsageError('give exactly one of --text and --image');
  }
  if (query.text !== undefined && query.text.trim() === '') throw new UsageError('--text must not be empty');
  const collection = query.text !== undefined ? 'images' : 'texts';
  if ((await index.count(collection)) === 0) {
    throw new UsageError(
      `index ${index.location} holds no ${collection === 'images' ? 'images' : 'captions'}${collection === 'texts' ? ' (index a captions file to search by image)' : ''}`,
    );
  }
  const t0 = performance.now();
  const queryIds = query.text !== undefined ? encodeText(tokenizer, query.text, config.maxLength) : null;
  const queryImage = query.image !== undefined ? await readImage(bundle, query.image, '--image') : null;
  const vector = withEval(model, () =>
    queryIds ? embedTokenized(model, [queryIds])[0]! : embedImages(model, [queryImage!])[0]!,
  );
  const t1 = performance.now();
  const depth = Math.max(options.k, options.rerank);
  const found = await index.search(collection, vector, depth, { exact: options.exact ?? false });
  const t2 = performance.now();
  let hits: RankedHit[] = found.map((h, i) => ({ ...h, rank: i + 1 }));
  if (options.rerank > 0 && hits.length > 0) {
    const top = hits.slice(0, options.rerank);
    let scores: Float32Array;
    if (queryIds) {
      const images: RgbImage[] = [];
      for (const h of top) images.push(await readImage(bundle, h.payload.path ?? h.key, 'indexed image'));
      scores = withEval(model, () => {
        const seq = sequencesOf(model, images, [queryIds]);
        try {
          return itmScores(
            model,
            seq,
            top.map((_, i) => [i, 0] as const),
          );
        } finally {
          disposeSequences(seq);
        }
      });
    } else {
      const ids = top.map((h) => encodeText(tokenizer, h.payload.caption ?? '', config.maxLength));
      scores = withEval(model, () => {
        const seq = sequencesOf(model, [queryImage!], ids);
        try {
          return itmScores(
            model,
            seq,
            ids.map((_, t) => [0, t] as const),
          );
        } finally {
          disposeSequences(seq);
        }
      });
    }
    const reranked = top
      .map((h, i) => ({ ...h, itmScore: scores[i]! }))
      .sort((a, b) => b.itmScore - a.itmScore || b.score - a.score);
    hits = [...reranked, ...hits.slice(options.rerank)].map((h, i) => ({ ...h, rank: i + 1 }));
  }
  return {
    query,
    collection,
    hits: hits.slice(0, options.k),
    rerank: options.rerank,
    timings: { embed: (t1 - t0) / 1000, search: (t2 - t1) / 1000, rerank: (performance.now() - t2) / 1000 },
  };
}

/** Hits as the CLI prints them. */
export function formatSearchResult(r: SearchResult): string {
  const q = r.query.text !== undefined ? `text "${r.query.text}"` : `image ${r.query.image}`;
  const lines = [
    `top ${r.hits.length} ${r.collection === 'images' ? 'images' : 'captions'} for ${q}${r.rerank ? ` (top ${r.rerank} re-ranked by ITM)` : ''}:`,
  ];
  for (const h of r.hits) {
    const what =
      r.collection === 'images'
        ? (h.payload.path ?? h.key)
        : `"${h.payload.caption}"${h.payload.imageKey ? ` (${h.payload.imageKey})` : ''}`;
    const itm = h.itmScore !== undefined ? `  itm ${h.itmScore.toFixed(2).padStart(6)}` : '';
    lines.push(`  ${String(h.rank).padStart(3)}. cos ${h.score.toFixed(4)}${itm}  ${what}`);
  }
  return lines.join('\n');
}
