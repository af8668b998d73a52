import type { CheckpointError } from './checkpoint-error.js';

/** A checkpoint read back: its step, where it lives, and its files' bytes by name. */
export interface LoadedCheckpoint {
  step: number;
  path: string;
  files: Record<string, Uint8Array>;
}

/**
 * Where the Trainer keeps checkpoints. `CheckpointStore` from `@polymodal/finetune/node` is the
 * crash-safe one on disk (the Node Trainer makes it from `checkpointDir`); in a browser pass your
 * own (IndexedDB, OPFS, memory) as the Trainer's `store`.
 *
 * ```ts
 * const saved = new Map<number, Record<string, Uint8Array>>();
 * const store: CheckpointStorage = {
 *   save: async (step, files) => (saved.set(step, files), `mem:${step}`),
 *   loadLatest: async () => { const s = Math.max(...saved.keys()); return s >= 0 ? { step: s, path: `mem:${s}`, files: saved.get(s)! } : null; },
 * };
 * ```
 */
export interface CheckpointStorage {
  /** Writes the files of the checkpoint at `step`; returns where it went. */
  save(step: number, files: Record<string, Uint8Array>): Promise<string>;
  /** The newest intact checkpoint holding every `requiredFiles` entry, or null; `onSkip` hears of broken ones. */
  loadLatest(
    onSkip?: (step: number, error: CheckpointError) => void,
    options?: { requiredFiles?: readonly string[] },
  ): Promise<LoadedCheckpoint | null>;
}
