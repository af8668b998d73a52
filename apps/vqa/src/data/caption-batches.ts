import { collate, imagesToTensor } from '@polymodal/data';
import { ArgumentError, type Generator as Rng, type Tensor, tensor } from '@polymodal/tensor';
import { shuffled } from './batches.js';
import type { CaptionExample, VqaSplit } from './dataset.js';

/** Captions of a few images, for the pretraining losses. */
export interface CaptionBatch {
  /** [I, 3, S, S]: the distinct images. */
  pixelValues: Tensor;
  /** int32 [B]: row of `pixelValues` for each caption. */
  imageIndex: Tensor;
  /** int32 [B, L] captions, and the same with one word replaced by `[MASK]`. */
  inputIds: Tensor;
  maskedIds: Tensor;
  /** bool [B, L], true = real token. */
  mask: Tensor;
  /** int32 [B]: the id of the masked word. */
  maskedWord: Tensor;
  /** The dataset image of each caption (captions of one image are not each other's negatives). */
  imageIds: number[];
}

/** What the masked-word objective may hide: every token but specials and a few function words. */
export interface MaskingVocabulary {
  padId: number;
  maskId: number;
  /** Token ids never masked (specials, articles, "of", "to", …). */
  neverMasked: ReadonlySet<number>;
}

/**
 * Pretraining batches: `imagesPerBatch` images in a seeded order, `captionsPerImage` of each one's
 * captions; in every caption one maskable word is replaced by `[MASK]` (chosen uniformly among the
 * content words: colours, shapes, sizes, relation words) for masked-word prediction conditioned
 * on the image. Resumable like `ImageGroupedBatches`.
 */
export class CaptionBatches implements Iterable<CaptionBatch> {
  private readonly byImage: CaptionExample[][];
  epoch = 0;
  position = 0;
  private epochStart: ReturnType<Rng['getState']>;

  constructor(
    readonly split: VqaSplit,
    readonly options: {
      imagesPerBatch: number;
      captionsPerImage: number;
      vocabulary: MaskingVocabulary;
      generator: Rng;
    },
  ) {
    const by: CaptionExample[][] = split.images.map(() => []);
    for (const c of split.captions) by[c.imageIndex]!.push(c);
    this.byImage = by.filter((list) => list.length > 0);
    if (this.byImage.length < options.imagesPerBatch)
      throw new ArgumentError(
        'CaptionBatches',
        `imagesPerBatch ${options.imagesPerBatch} > ${this.byImage.length} images with captions`,
      );
    this.epochStart = options.generator.getState();
  }

  get length(): number {
    return Math.floor(this.byImage.length / this.options.imagesPerBatch);
  }

  stateDict() {
    return { epoch: this.epoch, position: this.position, rngState: { ...this.epochStart } };
  }

  loadStateDict(state: ReturnType<CaptionBatches['stateDict']>): void {
    this.epoch = state.epoch;
    this.position = state.position;
    this.epochStart = { ...state.rngState };
  }

  *[Symbol.iterator](): Iterator<CaptionBatch> {
    const g = this.options.generator;
    g.setState(this.epochStart);
    const order = shuffled(g, this.byImage.length);
    const { imagesPerBatch, captionsPerImage, vocabulary } = this.options;
    for (let b = 0; b < this.length; b++) {
      const picked: CaptionExample[] = [];
      const masked: { ids: number[]; word: number }[] = [];
      for (let k = 0; k < imagesPerBatch; k++) {
        const captions = this.byImage[order[b * imagesPerBatch + k]!]!;
        for (const c of shuffled(g, captions.length).slice(0, captionsPerImage)) {
          const caption = captions[c]!;
          picked.push(caption);
          masked.push(maskOneWord(caption.inputIds, vocabulary, g));
        }
      }
      if (b < this.position) continue;
      this.position = b + 1;
      yield this.collate(picked, masked);
    }
    this.epoch++;
    this.position = 0;
    this.epochStart = g.getState();
  }

  private collate(picked: CaptionExample[], masked: { ids: number[]; word: number }[]): CaptionBatch {
    const rows = new Map<number, number>();
    for (const c of picked) if (!rows.has(c.imageIndex)) rows.set(c.imageIndex, rows.size);
    const padId = this.options.vocabulary.padId;
    const text = collate(
      picked.map((c, i) => ({ inputIds: c.inputIds, maskedIds: masked[i]!.ids })),
      { padId, padValues: { maskedIds: padId } },
    );
    const attention = text.attentionMask as Tensor;
    const mask = attention.dtype === 'bool' ? attention : attention.ne(0);
    if (mask !== attention) attention.dispose();
    return {
      pixelValues: imagesToTensor([...rows.keys()].map((i) => this.split.images[i]!)),
      imageIndex: tensor(
        Int32Array.from(picked, (c) => rows.get(c.imageIndex)!),
        { shape: [picked.length] },
      ),
      inputIds: text.inputIds as Tensor,
      maskedIds: text.maskedIds as Tensor,
      mask,
      maskedWord: tensor(
        Int32Array.from(masked, (m) => m.word),
        { shape: [picked.length] },
      ),
      imageIds: picked.map((c) => c.imageIndex),
    };
  }
}

/** Replaces one maskable token (uniformly chosen) by `[MASK]`; returns the new ids and the hidden id. */
export function maskOneWord(
  ids: readonly number[],
  vocabulary: MaskingVocabulary,
  g: Rng,
): { ids: number[]; word: number } {
  const candidates = ids.flatMap((id, i) => (vocabulary.neverMasked.has(id) ? [] : [i]));
  if (candidates.length === 0)
    throw new ArgumentError('maskOneWord', `caption [${ids}] has no maskable word`);
  const at = candidates[g.integer(0, candidates.length)]!;
  const out = [...ids];
  out[at] = vocabulary.maskId;
  return { ids: out, word: ids[at]! };
}
