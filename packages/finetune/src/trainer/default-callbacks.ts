import { ArgumentError } from '@polymodal/tensor';
import type { CheckpointStorage } from './checkpoint-storage.js';
import { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
import type { ProgressFactory, ProgressMode } from './progress.js';
import { ProgressCallback } from './progress-callback.js';

/** The Trainer's shorthand options that stand for built-in callbacks and the checkpoint store. */
export interface TrainerShorthands {
  /** A `ProgressCallback` in this mode (default 'auto'; 'none' adds none). */
  progress?: ProgressMode;
  /** An `EarlyStopping` callback. */
  earlyStopping?: EarlyStoppingOptions;
  /** A `MetricsLog` (`metrics.jsonl`) and a `TrainingReport` in this directory (Node Trainer). */
  outputDir?: string;
  /** A `CheckpointStore` in this directory (Node Trainer). */
  checkpointDir?: string;
  keepLast?: number;
  /** Where checkpoints go when there is no file system (or a custom store in Node). */
  store?: CheckpointStorage;
}

/**
 * The built-in callbacks the shorthand options stand for, in the order they run: progress, early
 * stopping. A kind the user already passes in `given` is not added twice. The file-system
 * shorthands (`outputDir`) are the Node Trainer's (`@polymodal/finetune/node`); here they are refused.
 */
export function defaultCallbacks(
  options: TrainerShorthands,
  given: readonly unknown[] = [],
  createReporter?: ProgressFactory,
): (ProgressCallback | EarlyStopping)[] {
  const has = (kind: abstract new (...args: never[]) => unknown) => given.some((cb) => cb instanceof kind);
  const list: (ProgressCallback | EarlyStopping)[] = [];
  const progress = options.progress ?? 'auto';
  if (progress !== 'none' && !has(ProgressCallback))
    list.push(new ProgressCallback(createReporter ? { mode: progress, createReporter } : { mode: progress }));
  if (options.earlyStopping) list.push(new EarlyStopping(options.earlyStopping));
  return list;
}

/** Refuses the options that need a file system, naming the entry that has them. */
export function refuseFileSystemShorthands(options: TrainerShorthands): void {
  for (const key of ['outputDir', 'checkpointDir'] as const)
    if (options[key] !== undefined)
      throw new ArgumentError(
        'Trainer',
        `${key} writes files: import { Trainer } from '@polymodal/finetune/node'${key === 'checkpointDir' ? ', or pass a store' : ''}`,
      );
}
