import type { Tensor } from '@polymodal/tensor';

/** Anything that lists its parameters by dotted name: an nn `Module`, or a plain object in tests. */
export interface HasNamedParameters {
  namedParameters(): [string, Tensor][];
}

/** Maps a parameter name to its depth: 0 = embeddings, 1..numLayers = blocks, numLayers + 1 = head. */
export type LayerIdFn = (name: string, numLayers: number) => number;

const LAYER_INDEX = /(?:^|\.)(?:layers|blocks|layer)\.(\d+)(?:\.|$)/;
// A name segment mentioning 'embed' (embeddings, patchEmbedding, positionalEmbedding, pos_embed, …) or a
// learned token (clsToken, cls_token, maskToken, registerTokens).
const EMBEDDING = /(?:^|\.)(?:[^.]*embed[^.]*|cls_?token|mask_?token|register_?tokens?)(?:\.|$)/i;
/(?:^|\.)(?:embeddings?|patchEmbed(?:ding)?|tokenEmbed(?:ding)?|positionEmbed(?:ding)?|posEmbed(?:ding)?|clsToken|cls_token|pos_embed|patch_embed)(?:\.|$)/i;

/**
 * The layer-id rule for Polymodal's encoders (BEiT / timm convention):
 * - a name containing `layers.<i>.` (also `blocks.<i>.`, `layer.<i>.`) → `i + 1`;
 * - embeddings (any name segment containing `embed`: `embeddings`, `patchEmbedding`,
 *   `tokenEmbedding`, `positionalEmbedding`, `pos_embed`; and `clsToken`, `maskToken`) → `0`;
 * - everything else (final norm, pooler, heads, projections) → `numLayers + 1`.
 * The first matching `layers.<i>` wins, so nested encoders use their outer block index.
 *
 * ```ts
 * defaultLayerId('encoder.layers.3.attn.q.weight', 12); // 4
 * defaultLayerId('embeddings.token.weight', 12);       // 0
 * defaultLayerId('head.weight', 12);                   // 13
 * ```
 */
export function defaultLayerId(name: string, numLayers: number): number {
  const m = LAYER_INDEX.exec(name);
  if (m) return Math.min(Number(m[1]) + 1, numLayers + 1);
  if (EMBEDDING.test(name)) return 0;
  return numLayers + 1;
}
