import { ArgumentError, IGNORE_INDEX, type Tensor, tensor } from '@polymodal/tensor';
import type { RgbImage } from '../image/rgb-image.js';
import { type ChwImage, imagesToTensor } from '../image/transforms.js';
import { int32Matrix, maskMatrix } from '../text/encoding-to-tensors.js';

export interface CollateOptions {
  /** Fill value for padded `inputIds` (the tokenizer's `[PAD]` id). Default 0. */
  padId?: number;
  /**
   * Fill value per field for padded number lists, overriding the defaults: `inputIds` → `padId`,
   * `labels` → {@link IGNORE_INDEX} (−100, so losses skip padding), every other field → 0.
   * E.g. `{ mlmLabels: -100, tokenTypeIds: 0 }`.
   */
  padValues?: Readonly<Record<string, number>>;
}

/** The value a ragged number-list field is padded with (see {@link CollateOptions.padValues}). */
function padValueFor(key: string, options: CollateOptions): number {
  const given = options.padValues?.[key];
  if (given !== undefined) {
    if (!Number.isInteger(given))
      throw new ArgumentError('collate', `padValues.${key} must be an integer, got ${given}`);
    return given;
  }
  if (key === 'inputIds') return options.padId ?? 0;
  if (key === 'labels') return IGNORE_INDEX;
  return 0;
}

/** A collated batch: tensors for numeric fields, arrays for anything else (strings, ids). */
export type Batch = Record<string, Tensor | unknown[]>;

const isImage = (v: unknown): v is RgbImage | ChwImage =>
  typeof v === 'object' &&
  v !== null &&
  ((v as RgbImage).data instanceof Float32Array || (v as ChwImage).chw instanceof Float32Array) &&
  'width' in v &&
  'height' in v;

/**
 * Default collate: per field, token sequences (`number[]`) are right-padded to the longest into
 * int32 [N, L] — `inputIds` with `padId`, `labels` with −100 ({@link IGNORE_INDEX}, what
 * `crossEntropy`/`mlmLoss` skip, as Hugging Face's collators pad labels), other fields with 0, or
 * with `padValues[field]` — and `inputIds` also yields `attentionMask`: **bool [N, L], true = real
 * token** (Polymodal's mask convention; a given `attentionMask` field of 1/0 becomes the same), which
 * `@polymodal/fusion` takes as is and `paddingMaskFromAttentionMask` turns into a torch-style
 * `keyPaddingMask`. Images (`RgbImage` or the
 * channel-first `ChwImage` the decode pool returns) are stacked into float32 [N, 3, H, W], `Float32Array`s into [N, D], numbers into [N] (int32 when all integers), and
 * anything else is kept as an array.
 *
 * ```ts
 * const batch = collate([{ inputIds: [2, 7, 3], labels: [-100, 7, -100], image: img }, …], { padId: tok.padId });
 * batch.inputIds; // int32 [N, L]; batch.labels (padded with −100); batch.attentionMask (bool [N, L], true = real); batch.image // [N, 3, H, W]
 * ```
 */
export function collate(samples: readonly Record<string, unknown>[], options: CollateOptions = {}): Batch {
  const first = samples[0];
  if (!first) throw new ArgumentError('collate', 'needs at least one sample');
  const out: Batch = {};
  for (const key of Object.keys(first)) {
    const values = samples.map((s, i) => {
      if (!(key in s))
        throw new ArgumentError('collate', `samples[${i}] is missing '${key}' (samples[0] has it)`);
      return s[key];
    });
    const v0 = values[0];
    if (Array.isArray(v0) && values.every((v) => Array.isArray(v) && v.every((x) => typeof x === 'number'))) {
      const rows = values as number[][];
      const len = Math.max(0, ...rows.map((r) => r.length));
      if (key === 'attentionMask') {
        out[key] = maskMatrix(rows, key, len);
        continue;
      }
      const fill = padValueFor(key, options);
      out[key] = int32Matrix(
        rows.map((r) => r.concat(new Array<number>(len - r.length).fill(fill))),
        key,
      );
      if (key === 'inputIds' && !('attentionMask' in first))
        out.attentionMask = maskMatrix(
          rows.map((r) => r.map(() => 1)),
          'attentionMask',
          len,
        );
    } else if (isImage(v0)) {
      out[key] = imagesToTensor(values as (RgbImage | ChwImage)[]);
    } else if (v0 instanceof Float32Array) {
      const arrays = values as Float32Array[];
      const d = v0.length;
      const flat = new Float32Array(d * arrays.length);
      arrays.forEach((a, i) => {
        if (a.length !== d)
          throw new ArgumentError('collate', `${key}[${i}] has length ${a.length}, ${key}[0] has ${d}`);
        flat.set(a, i * d);
      });
      out[key] = tensor(flat, { shape: [arrays.length, d], dtype: 'float32' });
    } else if (typeof v0 === 'number' && values.every((v) => typeof v === 'number')) {
      const nums = values as number[];
      out[key] = nums.every(Number.isInteger)
        ? tensor(Int32Array.from(nums), { dtype: 'int32' })
        : tensor(Float32Array.from(nums), { dtype: 'float32' });
    } else {
      out[key] = values;
    }
  }
  return out;
}
