import { ArgumentError } from '@polymodal/tensor';
import type { GroupedBatchesState, ImageGroupedBatches, VqaBatch } from './batches.js';
import type { VqaSplit } from './dataset.js';

/** A curriculum over question types: the first `steps` batches ask only `questionTypes`. */
export interface QuestionTypeCurriculum {
  questionTypes: string[];
  steps: number;
}

/** Where a `CurriculumBatches` is: batches yielded so far and both streams' positions (JSON). */
export interface CurriculumBatchesState {
  yielded: number;
  first: GroupedBatchesState;
  rest: GroupedBatchesState;
}

/** The training split with only the questions of `types` (every image keeps its pixels). */
export function splitOfTypes(split: VqaSplit, types: readonly string[]): VqaSplit {
  const known = [...new Set(split.examples.map((e) => e.questionType))].sort();
  const unknown = types.filter((t) => !known.includes(t));
  if (unknown.length > 0)
    throw new ArgumentError(
      'curriculum',
      `question type${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `'${t}'`).join(', ')} not in the training split; its types: ${known.join(', ')}`,
    );
  const keep = new Set(types);
  return { ...split, examples: split.examples.filter((e) => keep.has(e.questionType)) };
}

/**
 * Curriculum learning (Bengio et al. 2009) over question types: the first `steps` batches come from
 * `first` (e.g. only the questions that name an object and ask where it is or what it is), then
 * every batch from `rest` (all questions). Measured on the generated Sort-of-CLEVR data (PyTorch
 * twin, apps/vqa/README.md): a model that first learns to find the named object on the simple types
 * reads it for the other types sooner. One pass of this iterable is the curriculum's batches
 * followed by one epoch of `rest`; later passes are epochs of `rest`. `stateDict`/`loadStateDict`
 * resume exactly, in either phase.
 */
export class CurriculumBatches implements Iterable<VqaBatch> {
  private yielded = 0;

  constructor(
    readonly first: ImageGroupedBatches,
    readonly rest: ImageGroupedBatches,
    readonly steps: number,
  ) {
    if (!Number.isInteger(steps) || steps < 0)
      throw new ArgumentError('CurriculumBatches', `steps must be an integer ≥ 0, got ${steps}`);
  }

  /** Batches in an epoch of the full data (what the Trainer's epoch count refers to afterwards). */
  get length(): number {
    return this.rest.length;
  }

  stateDict(): CurriculumBatchesState {
    return { yielded: this.yielded, first: this.first.stateDict(), rest: this.rest.stateDict() };
  }

  loadStateDict(state: CurriculumBatchesState): void {
    this.yielded = state.yielded;
    this.first.loadStateDict(state.first);
    this.rest.loadStateDict(state.rest);
  }

  *[Symbol.iterator](): Iterator<VqaBatch> {
    while (this.yielded < this.steps) {
      // The first stream may need several of its own epochs to fill the curriculum.
      for (const batch of this.first) {
        this.yielded++;
        yield batch;
        if (this.yielded >= this.steps) break;
      }
    }
    for (const batch of this.rest) {
      this.yielded++;
      yield batch;
    }
  }
}
