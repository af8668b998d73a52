import type { Module } from '@polymodal/nn';
import type { CheckpointStorage } from './checkpoint-storage.js';
import { CheckpointStore } from './checkpoint-store.js';
import { defaultCallbacks } from './default-callbacks.js';
import { MetricsLog } from './metrics-log.js';
import { createProgress } from './progress-bar.js';
import { Trainer as PortableTrainer, type TrainerOptions } from './trainer.js';
import { TrainingReport } from './training-report.js';

/**
 * The Trainer with its file-system shorthands (Node): `checkpointDir` makes a `CheckpointStore`
 * (atomic, checksummed, the last `keepLast` kept), `outputDir` adds a `MetricsLog` (JSONL) and a
 * `TrainingReport` (SVG/HTML), and progress 'auto' draws a bar on a terminal. Everything else is
 * the `Trainer` of `@polymodal/finetune`, which it extends.
 *
 * ```ts
 * import { Trainer } from '@polymodal/finetune/node';
 * const trainer = new Trainer({ model, optimizer, computeLoss, trainData, checkpointDir: 'runs/a/ckpt', outputDir: 'runs/a' });
 * await trainer.train({ resume: true });
 * ```
 */
export class Trainer<B, M extends Module = Module> extends PortableTrainer<B, M> {
  protected override builtinCallbacks(options: TrainerOptions<B, M>, given: readonly unknown[]): unknown[] {
    const list: unknown[] = defaultCallbacks(options, given, createProgress);
    if (options.outputDir)
      list.push(new MetricsLog(options.outputDir), new TrainingReport(options.outputDir));
    return list;
  }

  protected override checkpointStore(options: TrainerOptions<B, M>): CheckpointStorage | null {
    if (options.store) return options.store;
    return options.checkpointDir ? new CheckpointStore(options.checkpointDir, options.keepLast ?? 3) : null;
  }
}
