import { PolymodalError } from '@polymodal/tensor';

/**
 * A checkpoint could not be written, or one failed verification (missing manifest or file, wrong
 * size, SHA-256 mismatch).
 *
 * ```ts
 * try { await store.load(100); } catch (e) { if (e instanceof CheckpointError) console.warn(e.message); }
 * ```
 */
export class CheckpointError extends PolymodalError {
  override readonly name = 'CheckpointError';
}
