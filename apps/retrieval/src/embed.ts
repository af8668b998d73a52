import type { RgbImage, WordPieceTokenizer } from '@polymodal/data';
import { cat, noGrad, scope, type Tensor, tensor } from '@polymodal/tensor';
import { imageTensor, tokenTensors } from './data.js';
import type { RetrievalModel } from './model.js';

/** Rows of a `[N, D]` tensor as separate Float32Arrays. */
function rows(t: Tensor): Float32Array[] {
  const [n, d] = t.shape as [number, number];
  const data = t.dataSync() as Float32Array;
  return Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d));
}

/** Token ids of `text` for this model: `[CLS] … [SEP]`, cut to the text tower's positions. */
export function encodeText(tokenizer: WordPieceTokenizer, text: string, maxLength: number): number[] {
  return tokenizer.encode(text, undefined, { truncation: true, maxLength }).inputIds;
}

/**
 * L2-normalised image embeddings, one Float32Array per image (eval mode is the caller's job:
 * `withEval`). No gradients; intermediates freed.
 *
 * ```ts
 * const vectors = withEval(model, () => embedImages(model, pixels)); // Float32Array(embedDim)[]
 * ```
 */
export function embedImages(model: RetrievalModel, images: readonly RgbImage[]): Float32Array[] {
  if (images.length === 0) return [];
  return noGrad(() => scope(() => rows(model.embedImages(imageTensor(images)))));
}

/** L2-normalised text embeddings of already tokenized captions. */
export function embedTokenized(model: RetrievalModel, ids: readonly number[][]): Float32Array[] {
  if (ids.length === 0) return [];
  return noGrad(() =>
    scope(() => {
      const { inputIds, textMask } = tokenTensors(ids, model.config.padId);
      return rows(model.embedTexts(inputIds, textMask));
    }),
  );
}

/** Image patch states `[N, P, d]` and text token states `[M, L, d]` (+ mask), computed once for re-ranking. */
export interface Sequences {
  images: Tensor;
  texts: Tensor;
  textMask: Tensor;
  /**
   * With the `readout` ITM head: every image's read-out `[N, colours · 8]` and caption's `[M, 26]`,
   * so that scoring a pair is the head alone.
   */
  readouts?: { images: Tensor; texts: Tensor };
}

/** The towers' sequences for every image and caption (kept: dispose with `disposeSequences`). */
export function sequencesOf(
  model: RetrievalModel,
  images: readonly RgbImage[],
  texts: readonly number[][],
  batchSize = 256,
): Sequences {
  return noGrad(() =>
    scope(() => {
      const imageParts: Tensor[] = [];
      for (let i = 0; i < images.length; i += batchSize) {
        imageParts.push(model.image.sequence(imageTensor(images.slice(i, i + batchSize))));
      }
      const { inputIds, textMask } = tokenTensors(texts, model.config.padId);
      const textParts: Tensor[] = [];
      const maskParts: Tensor[] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        const n = Math.min(batchSize, texts.length - i);
        maskParts.push(textMask.slice(0, i, i + n));
        textParts.push(model.text.sequence(inputIds.slice(0, i, i + n), maskParts.at(-1)!));
      }
      const out: Sequences = { images: cat(imageParts, 0), texts: cat(textParts, 0), textMask };
      if (model.itmHead === 'readout') {
        out.readouts = {
          images: cat(
            imageParts.map((s) => model.imageReadout(s)),
            0,
          ),
          texts: cat(
            textParts.map((s, k) => model.textReadout(s, maskParts[k]!)),
            0,
          ),
        };
      }
      return out;
    }),
  );
}

export function disposeSequences(s: Sequences): void {
  s.images.dispose();
  s.texts.dispose();
  s.textMask.dispose();
  s.readouts?.images.dispose();
  s.readouts?.texts.dispose();
}

/**
 * ITM re-ranking scores (`log p(match) − log p(no match)`) of (image, text) index pairs over
 * precomputed sequences (or, with the `readout` head, their read-outs), in batches.
 *
 * ```ts
 * const seq = sequencesOf(model, pixels, ids);
 * itmScores(model, seq, [[0, 3], [0, 5]]); // Float32Array(2)
 * ```
 */
export function itmScores(
  model: RetrievalModel,
  seq: Sequences,
  pairs: readonly (readonly [number, number])[],
  batchSize = 256,
): Float32Array {
  const out = new Float32Array(pairs.length);
  for (let at = 0; at < pairs.length; at += batchSize) {
    const chunk = pairs.slice(at, at + batchSize);
    const values = noGrad(() =>
      scope(() => {
        const ii = tensor(
          Int32Array.from(chunk, ([i]) => i),
          { dtype: 'int32' },
        );
        const tt = tensor(
          Int32Array.from(chunk, ([, t]) => t),
          { dtype: 'int32' },
        );
        const score = seq.readouts
          ? model.itmScoreFromReadouts(
              seq.readouts.images.indexSelect(0, ii),
              seq.readouts.texts.indexSelect(0, tt),
            )
          : model.itmScore(
              seq.images.indexSelect(0, ii),
              seq.texts.indexSelect(0, tt),
              seq.textMask.indexSelect(0, tt),
            );
        return score.dataSync() as Float32Array;
      }),
    );
    out.set(values, at);
  }
  return out;
}
