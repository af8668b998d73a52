import {
  ArgumentError,
  assertDType,
  assertTensor,
  formatShape,
  isAnomalyEnabled,
  ShapeError,
  type Tensor,
} from '@polymodal/tensor';

// Checks particular to losses; the generic ones (assertTensor, assertDType, assertShape,
// checkPositiveInt, checkInRange) are @polymodal/tensor's validation helpers.

/** A non-empty batch: the first dim is at least `min` (1 by default). */
export function assertBatch(op: string, name: string, t: Tensor, min = 1): void {
  if ((t.shape[0] ?? 0) < min) {
    throw new ShapeError(
      op,
      `${name} needs a batch of at least ${min}, got ${formatShape(t.shape)}${min === 1 ? ' (empty batch)' : ''}`,
    );
  }
}

/**
 * Whether to check a model output (`logits`, embeddings, a loss) for NaN/∞: when the caller asks
 * (`checkFinite: true`), else only in anomaly mode (`withAnomalyMode`) on a backend that can read
 * synchronously. The check reads the whole tensor back to the host (a device sync and a scan of,
 * for MLM, B·L·V values), so a training step does not pay for it.
 */
export function shouldCheckOutput(t: Tensor, requested: boolean | undefined): boolean {
  return requested ?? (isAnomalyEnabled() && t.backend.supportsSyncRead);
}

/**
 * Whether to check the values of targets (labels, soft scores): where the backend keeps them in
 * host memory (reading them is no device sync, and they are small: one per example or token;
 * `crossEntropy` and the index ops check there too) or in anomaly mode.
 */
export function shouldCheckTarget(t: Tensor): boolean {
  return t.backend.hostMemory || (isAnomalyEnabled() && t.backend.supportsSyncRead);
}

/** Throws an ArgumentError when `t` holds NaN (or ±∞ unless `allowInfinite`). Reads it back. */
export function assertFinite(op: string, name: string, t: Tensor, allowInfinite = false): void {
  const values = t.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v) || (!allowInfinite && !Number.isFinite(v))) {
      throw new ArgumentError(op, `${name} ${formatShape(t.shape)} holds ${v} at flat index ${i}`);
    }
  }
}

/** A scalar parameter given as a number or a one-element float tensor (`[]` or `[1]`). */
export function assertScalarLike(op: string, name: string, v: unknown): asserts v is number | Tensor {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ArgumentError(op, `${name} must be finite, got ${v}`);
    return;
  }
  assertTensor(op, name, v);
  if (v.size !== 1) throw new ShapeError(op, `${name} must hold one value, got ${formatShape(v.shape)}`);
  assertDType(op, name, v, 'float32');
}
