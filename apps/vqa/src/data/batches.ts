import { collate, imagesToTensor } from '@polymodal/data';
import { ArgumentError, type Generator as Rng, type Tensor, tensor } from '@polymodal/tensor';
import type { VqaExample, VqaSplit } from './dataset.js';

/**
 * A batch of questions grouped by image: the stem runs once per distinct image (`pixelValues`
 * [I, 3, S, S]) and `imageIndex` [B] says which of those images each question is about — with
 * several questions per image the expensive image side costs a fraction of a step.
 */
export interface VqaBatch {
  pixelValues: Tensor;
  /** int32 [B]: row of `pixelValues` for each question. */
  imageIndex: Tensor;
  /** int32 [B, L], right-padded with `[PAD]`. */
  inputIds: Tensor;
  /** bool [B, L], true = real token. */
  mask: Tensor;
  /** int32 [B]: answer class, −100 when the answer is not in the list. */
  labels: Tensor;
  examples: VqaExample[];
}

/** Stacks questions (and the distinct images they ask about) into a `VqaBatch`. */
export function collateVqa(split: VqaSplit, examples: readonly VqaExample[], padId: number): VqaBatch {
  if (examples.length === 0) throw new ArgumentError('collateVqa', 'needs at least one example');
  const rows = new Map<number, number>();
  for (const e of examples) if (!rows.has(e.imageIndex)) rows.set(e.imageIndex, rows.size);
  const text = collate(
    examples.map((e) => ({ inputIds: e.inputIds, labels: e.label })),
    { padId },
  );
  const attention = text.attentionMask as Tensor;
  const mask = attention.dtype === 'bool' ? attention : attention.ne(0);
  if (mask !== attention) attention.dispose();
  return {
    pixelValues: imagesToTensor([...rows.keys()].map((i) => split.images[i]!)),
    imageIndex: tensor(
      Int32Array.from(examples, (e) => rows.get(e.imageIndex)!),
      { shape: [examples.length] },
    ),
    inputIds: text.inputIds as Tensor,
    mask,
    labels: text.labels as Tensor,
    examples: [...examples],
  };
}

/** Where an `ImageGroupedBatches` is: enough to continue exactly (JSON). */
export interface GroupedBatchesState {
  epoch: number;
  /** Batches already yielded in this epoch. */
  position: number;
  /** The generator's state when this epoch began (its order is re-derived from it). */
  rngState: ReturnType<Rng['getState']>;
}

/**
 * Training batches by image: each batch takes `imagesPerBatch` images in a seeded random order and
 * up to `questionsPerImage` of each one's questions (drawn without replacement), so one epoch
 * visits every image once. The order depends only on the generator; `stateDict`/`loadStateDict`
 * let the Trainer resume in the middle of an epoch exactly.
 */
export class ImageGroupedBatches implements Iterable<VqaBatch> {
  private readonly byImage: VqaExample[][];
  epoch = 0;
  position = 0;
  private epochStart: GroupedBatchesState['rngState'];

  constructor(
    readonly split: VqaSplit,
    readonly options: { imagesPerBatch: number; questionsPerImage: number; padId: number; generator: Rng },
  ) {
    this.epochStart = options.generator.getState();
    const by: VqaExample[][] = split.images.map(() => []);
    for (const e of split.examples) by[e.imageIndex]!.push(e);
    this.byImage = by.filter((list) => list.length > 0);
    if (this.byImage.length < options.imagesPerBatch)
      throw new ArgumentError(
        'ImageGroupedBatches',
        `imagesPerBatch ${options.imagesPerBatch} > ${this.byImage.length} images with questions`,
      );
  }

  /** Batches per epoch. */
  get length(): number {
    return Math.floor(this.byImage.length / this.options.imagesPerBatch);
  }

  stateDict(): GroupedBatchesState {
    return { epoch: this.epoch, position: this.position, rngState: { ...this.epochStart } };
  }

  loadStateDict(state: GroupedBatchesState): void {
    this.epoch = state.epoch;
    this.position = state.position;
    this.epochStart = { ...state.rngState };
    this.options.generator.setState(state.rngState);
  }

  *[Symbol.iterator](): Iterator<VqaBatch> {
    const g = this.options.generator;
    g.setState(this.epochStart);
    const order = shuffled(g, this.byImage.length);
    for (let b = 0; b < this.length; b++) {
      const picked: VqaExample[] = [];
      for (let k = 0; k < this.options.imagesPerBatch; k++) {
        const questions = this.byImage[order[b * this.options.imagesPerBatch + k]!]!;
        const take = shuffled(g, questions.length).slice(0, this.options.questionsPerImage);
        for (const q of take) picked.push(questions[q]!);
      }
      // Draws happen for skipped batches too, so a resumed epoch sees the same batches after them.
      if (b < this.position) continue;
      this.position = b + 1;
      yield collateVqa(this.split, picked, this.options.padId);
    }
    this.epoch++;
    this.position = 0;
    this.epochStart = g.getState();
  }
}

/** A seeded permutation of 0..n−1 (Fisher–Yates). */
export function shuffled(g: Rng, n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = g.integer(0, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Evaluation batches in order, `size` questions each. */
export function* inOrder(split: VqaSplit, size: number, padId: number): Generator<VqaBatch> {
  for (let i = 0; i < split.examples.length; i += size) {
    yield collateVqa(split, split.examples.slice(i, i + size), padId);
  }
}
