import { checkPositiveInt, creationMark, type Tensor, tensorsIn } from '@polymodal/tensor';

/**
 * Groups any (async) stream of samples into collated batches, e.g. WebDataset shards that cannot
 * be indexed like a `Dataset`. Like `DataLoader`, it owns the tensors `collate` makes and disposes
 * each batch's when the next is requested or the loop ends; `disposeBatches: false` hands them to
 * the consumer.
 *
 * ```ts
 * for await (const batch of batchStream(readWebDataset(shards), { batchSize: 32, collate: (s) => s })) …
 * ```
 */
export async function* batchStream<T, B>(
  source: AsyncIterable<T> | Iterable<T>,
  options: { batchSize: number; collate: (samples: T[]) => B; dropLast?: boolean; disposeBatches?: boolean },
): AsyncGenerator<B> {
  checkPositiveInt('batchStream', 'batchSize', options.batchSize);
  const owns = options.disposeBatches ?? true;
  let owned: Tensor[] = [];
  const emit = (samples: T[]): B => {
    const mark = creationMark();
    const batch = options.collate(samples);
    if (owns) owned = tensorsIn(batch, { since: mark });
    return batch;
  };
  const release = () => {
    for (const t of owned) t.dispose();
    owned = [];
  };
  try {
    let pending: T[] = [];
    for await (const sample of source) {
      pending.push(sample);
      if (pending.length === options.batchSize) {
        yield emit(pending);
        release();
        pending = [];
      }
    }
    if (pending.length > 0 && !options.dropLast) yield emit(pending);
  } finally {
    release();
  }
}
