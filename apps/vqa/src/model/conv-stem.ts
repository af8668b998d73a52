/**
 * The stem itself is `ConvStem` in `@polymodal/nn` (one implementation, shared with apps/retrieval);
 * this name stays for the imports of `StemLayer` (src/config.ts).
 */
export type { ConvStemLayer as StemLayer } from '@polymodal/nn';
