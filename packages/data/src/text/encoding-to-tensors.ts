import { ArgumentError, type Tensor, tensor } from '@polymodal/tensor';
import type { BatchEncoding } from './wordpiece-tokenizer.js';

/** A batch encoding as tensors, each [N, L]. */
export interface BatchEncodingTensors {
  /** int32. */
  inputIds: Tensor;
  /** bool, true = real token (Polymodal's mask convention, as `collate` gives). */
  attentionMask: Tensor;
  /** int32. */
  tokenTypeIds: Tensor;
}

/**
 * Turns a padded `number[][]` matrix into an int32 tensor [N, L]; rows must have equal length.
 *
 * ```ts
 * int32Matrix([[101, 7, 102], [101, 102, 0]]).shape; // [2, 3]
 * ```
 */
export function int32Matrix(rows: readonly (readonly number[])[], what = 'rows'): Tensor {
  const n = rows.length;
  const len = rows[0]?.length ?? 0;
  const flat = new Int32Array(n * len);
  rows.forEach((row, i) => {
    if (row.length !== len) {
      throw new ArgumentError(
        'encodingToTensors',
        `${what}[${i}] has length ${row.length}, expected ${len} (pad first)`,
      );
    }
    // Typed-array set would turn 1.5 into 1 and NaN or '7' into 0 without a word.
    for (let j = 0; j < len; j++) {
      const v = row[j];
      if (!Number.isInteger(v) || (v as number) < -2147483648 || (v as number) > 2147483647)
        throw new ArgumentError(
          'encodingToTensors',
          `${what}[${i}][${j}] is ${typeof v === 'string' ? JSON.stringify(v) : String(v)}, not an int32 id`,
        );
    }
    flat.set(row, i * len);
  });
  return tensor(flat, { shape: [n, len], dtype: 'int32' });
}

/**
 * Rows of 1 (real token) / 0 (padding) → a bool mask [N, L], L = `length` (default the longest
 * row); shorter rows are padded with false. Anything but 0 or 1 is refused.
 *
 * ```ts
 * maskMatrix([[1, 1, 1], [1, 0]]); // bool [2, 3]: [[true, true, true], [true, false, false]]
 * ```
 */
export function maskMatrix(
  rows: readonly (readonly number[])[],
  what = 'mask',
  length = Math.max(0, ...rows.map((r) => r.length)),
): Tensor {
  const mask = new Uint8Array(rows.length * length);
  rows.forEach((row, i) => {
    if (row.length > length)
      throw new ArgumentError(
        'encodingToTensors',
        `${what}[${i}] has length ${row.length}, more than ${length}`,
      );
    for (let j = 0; j < row.length; j++) {
      const v = row[j];
      if (v !== 0 && v !== 1)
        throw new ArgumentError(
          'encodingToTensors',
          `${what}[${i}][${j}] is ${typeof v === 'string' ? JSON.stringify(v) : String(v)}; a mask holds 1 (real token) or 0`,
        );
      mask[i * length + j] = v;
    }
  });
  return tensor(mask, { shape: [rows.length, length], dtype: 'bool' });
}

/**
 * `encodeBatch` output → tensors `{ inputIds, attentionMask, tokenTypeIds }`, each [N, L]: ids int32,
 * the attention mask bool (true = real token, from the encoding's 1/0).
 *
 * ```ts
 * const t = encodingToTensors(tok.encodeBatch(['a b', 'c'], { padding: 'longest' }));
 * t.inputIds.shape; // [2, 4]
 * ```
 */
export function encodingToTensors(batch: BatchEncoding): BatchEncodingTensors {
  const length = batch.attentionMask[0]?.length ?? 0;
  batch.attentionMask.forEach((row, i) => {
    if (row.length !== length)
      throw new ArgumentError(
        'encodingToTensors',
        `attentionMask[${i}] has length ${row.length}, expected ${length} (pad first)`,
      );
  });
  return {
    inputIds: int32Matrix(batch.inputIds, 'inputIds'),
    attentionMask: maskMatrix(batch.attentionMask, 'attentionMask', length),
    tokenTypeIds: int32Matrix(batch.tokenTypeIds, 'tokenTypeIds'),
  };
}
