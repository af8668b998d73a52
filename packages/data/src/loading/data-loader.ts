import {
  ArgumentError,
  checkPositiveInt,
  creationMark,
  Generator,
  type Tensor,
  tensorsIn,
} from '@polymodal/tensor';
import { DatasetError } from '../datasets/dataset-error.js';
import { type OnError, SkipReport } from '../datasets/skip-report.js';
import { ImageDecodeError } from '../image/image-decode-error.js';

/** Anything indexable: `get(i)` may be async (e.g. decode an image). */
export interface Dataset<T> {
  readonly length: number;
  get(index: number): T | Promise<T>;
}

/** An in-memory dataset over an array, optionally mapping each item. */
export function arrayDataset<S, T = S>(
  items: readonly S[],
  map?: (item: S, index: number) => T | Promise<T>,
): Dataset<T> {
  return {
    length: items.length,
    get: (i) => (map ? map(items[i]!, i) : (items[i] as unknown as T)),
  };
}

export interface DataLoaderOptions<T, B> {
  batchSize: number;
  /** Reshuffle every epoch with a permutation drawn from the seeded generator. Default false. */
  shuffle?: boolean;
  seed?: number;
  /** Drop the last incomplete batch. Default false. */
  dropLast?: boolean;
  /** Samples → batch (e.g. `collate`). */
  collate: (samples: T[]) => B;
  /**
   * The loader owns the tensors `collate` makes (found in a batch of plain objects, arrays and
   * Maps) and disposes them when the consumer asks for the next batch or the loop ends (`break`,
   * a throw, or the end of the epoch), so a training loop does not leak a batch per step. To keep a
   * tensor past that, `clone()` it. `false`: the batches are yours to dispose. Default true.
   */
  disposeBatches?: boolean;
  /** Batches loaded ahead of the consumer. Default 2. */
  prefetch?: number;
  /** `'skip'`: drop samples whose `get` throws an ImageDecodeError/DatasetError, and count them. */
  onError?: OnError;
  /**
   * Where skips are recorded. A report passed in (e.g. the reader's) already holds the item total,
   * so the loader only adds skips to it; its own report also counts the samples it visited.
   */
  report?: SkipReport;
}

/** Everything needed to resume a loader exactly (JSON-serialisable). */
export interface DataLoaderState {
  epoch: number;
  /** Batches already yielded in this epoch. */
  position: number;
  /** Generator state at the start of this epoch (re-derives its permutation). */
  rngState: { hi: number; lo: number; spareNormal: number | null };
}

/**
 * An async-iterable mini-batch loader: seeded per-epoch shuffling, `dropLast`, prefetching of
 * `prefetch` batches (samples fetched concurrently, e.g. on an `ImageDecodePool`), and exact
 * resumption via `stateDict()` / `loadStateDict()`. Batch contents and order depend only on the
 * seed, never on which worker finishes first. The tensors `collate` makes belong to the loader:
 * each batch's are disposed when the next is requested or the loop ends (`disposeBatches`).
 *
 * ```ts
 * const loader = new DataLoader(dataset, { batchSize: 32, shuffle: true, seed: 0, collate });
 * for await (const batch of loader) train(batch);   // one epoch per for-await; batch freed after
 * save(loader.stateDict());
 * ```
 */
export class DataLoader<T, B> implements AsyncIterable<B> {
  readonly batchSize: number;
  readonly report: SkipReport;
  epoch = 0;
  position = 0;
  private readonly generator: Generator;
  private order: number[] | null = null;
  private epochStartState: DataLoaderState['rngState'];

  constructor(
    readonly dataset: Dataset<T>,
    readonly options: DataLoaderOptions<T, B>,
  ) {
    checkPositiveInt('DataLoader', 'batchSize', options.batchSize);
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0) {
      throw new ArgumentError('DataLoader', `prefetch must be an integer ≥ 0, got ${prefetch}`);
    }
    this.batchSize = options.batchSize;
    this.report = options.report ?? new SkipReport();
    this.generator = new Generator(options.seed ?? 0);
    this.epochStartState = this.generator.getState();
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  private ensureOrder(): number[] {
    if (this.order) return this.order;
    this.epochStartState = this.generator.getState();
    const order = Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.options.shuffle) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = this.generator.integer(0, i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    this.order = order;
    return order;
  }

  /** The dataset indices of batch `b` of the current epoch. */
  batchIndices(b: number): number[] {
    return this.ensureOrder().slice(b * this.batchSize, (b + 1) * this.batchSize);
  }

  stateDict(): DataLoaderState {
    this.ensureOrder();
    return { epoch: this.epoch, position: this.position, rngState: { ...this.epochStartState } };
  }

  loadStateDict(state: DataLoaderState): void {
    if (!Number.isInteger(state.position) || state.position < 0 || state.position > this.length) {
      throw new ArgumentError(
        'DataLoader.loadStateDict',
        `position ${state.position} outside 0..${this.length}`,
      );
    }
    this.generator.setState(state.rngState);
    this.order = null;
    this.ensureOrder();
    this.epoch = state.epoch;
    this.position = state.position;
  }

  /** Loads batch `b`; failures to skip are returned, and recorded only when the batch is consumed. */
  private async loadBatch(b: number): Promise<{ samples: T[]; skipped: { item: string; reason: string }[] }> {
    const indices = this.batchIndices(b);
    const skip = this.options.onError === 'skip';
    const results = await Promise.all(
      indices.map(async (i) => {
        try {
          return { ok: true as const, value: await this.dataset.get(i) };
        } catch (e) {
          if (skip && (e instanceof ImageDecodeError || e instanceof DatasetError)) {
            return {
              ok: false as const,
              item: e instanceof ImageDecodeError ? e.file : `sample ${i}`,
              reason: e.message,
            };
          }
          throw e;
        }
      }),
    );
    const samples: T[] = [];
    const skipped: { item: string; reason: string }[] = [];
    for (const r of results) {
      if (r.ok) samples.push(r.value);
      else skipped.push({ item: r.item, reason: r.reason });
    }
    return { samples, skipped };
  }

  /** Iterates the rest of the current epoch, then advances to the next one. */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    this.ensureOrder();
    const total = this.length;
    const ahead = Math.max(1, (this.options.prefetch ?? 2) + 1);
    const pending = new Map<number, ReturnType<typeof this.loadBatch>>();
    const schedule = (upTo: number) => {
      for (let b = this.position; b < Math.min(total, upTo); b++) {
        if (!pending.has(b)) {
          const p = this.loadBatch(b);
          p.catch(() => undefined); // surfaced when awaited; avoid unhandled-rejection noise
          pending.set(b, p);
        }
      }
    };
    const owns = this.options.disposeBatches ?? true;
    let owned: Tensor[] = [];
    try {
      while (this.position < total) {
        schedule(this.position + ahead);
        const b = this.position;
        const { samples, skipped } = await pending.get(b)!;
        pending.delete(b);
        // Recorded in batch order (not in the order prefetched batches finish), so the report is
        // deterministic too, and batches prefetched but never consumed count nothing.
        for (const s of skipped) this.report.skip(s.item, s.reason);
        if (!this.options.report) this.report.total += this.batchIndices(b).length;
        this.position = b + 1;
        if (samples.length === 0) continue;
        const mark = creationMark();
        const batch = this.options.collate(samples);
        // Only tensors collate made: a sample's own tensors (a cached dataset) stay the dataset's.
        if (owns) owned = tensorsIn(batch, { since: mark });
        yield batch;
        releaseAll(owned);
        owned = [];
      }
    } finally {
      // The consumer broke out, threw, or finished: the last batch goes too.
      releaseAll(owned);
    }
    this.epoch += 1;
    this.position = 0;
    this.order = null;
  }
}

function releaseAll(tensors: readonly Tensor[]): void {
  for (const t of tensors) t.dispose();
}
