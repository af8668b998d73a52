import { ArgumentError } from '@polymodal/tensor';

/**
 * Groups any (async) stream of samples into collated batches, e.g. WebDataset shards that cannot
 * be indexed like a `Dataset`.
 *
 * ```ts
 * for await (const batch of batchStream(readWebDataset(shards), { batchSize: 32, collate: (s) => s })) …
 * ```
 */
export async function* batchStream<T, B>(
  source: AsyncIterable<T> | Iterable<T>,
  options: { batchSize: number; collate: (samples: T[]) => B; dropLast?: boolean },
): AsyncGenerator<B> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new ArgumentError('batchStream', `batchSize must be a positive integer, got ${options.batchSize}`);
  }
  let pending: T[] = [];
  for await (const sample of source) {
    pending.push(sample);
    if (pending.length === options.batchSize) {
      yield options.collate(pending);
      pending = [];
    }
  }
  if (pending.length > 0 && !options.dropLast) yield options.collate(pending);
}
