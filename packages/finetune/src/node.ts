/**
 * @polymodal/finetune/node: the Node-only part of @polymodal/finetune — everything that writes
 * files or draws on a terminal. `Trainer` here is the portable Trainer plus its file-system
 * shorthands (`checkpointDir`, `outputDir`, a terminal bar for progress 'auto').
 *
 * ```ts
 * import { Trainer } from '@polymodal/finetune/node';
 * const trainer = new Trainer({ model, optimizer, computeLoss, trainData, checkpointDir: 'runs/a/ckpt', outputDir: 'runs/a' });
 * ```
 */
export { loadLoraAdapter, saveLoraAdapter } from './lora/lora-file.js';
export { type CheckpointManifest, CheckpointStore } from './trainer/checkpoint-store.js';
export { MetricsLog } from './trainer/metrics-log.js';
export { ProgressCallback } from './trainer/node-progress-callback.js';
export { Trainer } from './trainer/node-trainer.js';
export { createProgress } from './trainer/progress-bar.js';
export { TrainingReport } from './trainer/training-report.js';
