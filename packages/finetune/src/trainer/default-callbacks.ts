import { CheckpointStore } from './checkpoint-store.js';
import { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
import { MetricsLog } from './metrics-log.js';
import type { ProgressMode } from './progress.js';
import { ProgressCallback } from './progress-callback.js';
import { TrainingReport } from './training-report.js';

/** The Trainer's shorthand options that stand for built-in callbacks and the checkpoint store. */
export interface TrainerShorthands {
  /** A `ProgressCallback` in this mode (default 'auto'; 'none' adds none). */
  progress?: ProgressMode;
  /** An `EarlyStopping` callback. */
  earlyStopping?: EarlyStoppingOptions;
  /** A `MetricsLog` (`metrics.jsonl`) and a `TrainingReport` in this directory. */
  outputDir?: string;
  /** A `CheckpointStore` in this directory. */
  checkpointDir?: string;
  keepLast?: number;
}

/** The built-in callbacks (they take any Trainer through `TrainerContext`). */
export type BuiltinCallback = ProgressCallback | EarlyStopping | MetricsLog | TrainingReport;

/**
 * The built-in callbacks the shorthand options stand for, in the order they run: progress, early
 * stopping, metrics log, report. A kind the user already passes in `given` is not added twice.
 * This file and the ones it imports for `outputDir` and `checkpointDir` are where the Trainer
 * touches the file system (Node only).
 */
export function defaultCallbacks(
  options: TrainerShorthands,
  given: readonly unknown[] = [],
): BuiltinCallback[] {
  const has = (kind: abstract new (...args: never[]) => unknown) => given.some((cb) => cb instanceof kind);
  const list: BuiltinCallback[] = [];
  const progress = options.progress ?? 'auto';
  if (progress !== 'none' && !has(ProgressCallback)) list.push(new ProgressCallback({ mode: progress }));
  if (options.earlyStopping) list.push(new EarlyStopping(options.earlyStopping));
  if (options.outputDir) list.push(new MetricsLog(options.outputDir), new TrainingReport(options.outputDir));
  return list;
}

/** The checkpoint store for `checkpointDir` (crash-safe directories on disk), or null. */
export function checkpointStoreFor(options: TrainerShorthands): CheckpointStore | null {
  return options.checkpointDir ? new CheckpointStore(options.checkpointDir, options.keepLast ?? 3) : null;
}
