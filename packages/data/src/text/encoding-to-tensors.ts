import { ArgumentError, type Tensor, tensor } from '@polymodal/tensor';
import type { BatchEncoding } from './wordpiece-tokenizer.js';

/** A batch encoding as int32 tensors, each [N, L]. */
export interface BatchEncodingTensors {
  inputIds: Tensor;
  attentionMask: Tensor;
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
 * `encodeBatch` output → int32 tensors `{ inputIds, attentionMask, tokenTypeIds }`, each [N, L].
 *
 * ```ts
 * const t = encodingToTensors(tok.encodeBatch(['a b', 'c'], { padding: 'longest' }));
 * t.inputIds.shape; // [2, 4]
 * ```
 */
export function encodingToTensors(batch: BatchEncoding): BatchEncodingTensors {
  return {
    inputIds: int32Matrix(batch.inputIds, 'inputIds'),
    attentionMask: int32Matrix(batch.attentionMask, 'attentionMask'),
    tokenTypeIds: int32Matrix(batch.tokenTypeIds, 'tokenTypeIds'),
  };
}
