import {
  ArgumentError,
  assertDType,
  assertTensor,
  checkInRange,
  checkPositiveInt,
  crossEntropy,
  DTypeError,
  generatorFrom,
  IGNORE_INDEX,
  type RandomOptions,
  reshape,
  ShapeError,
  scope,
  type Tensor,
  tensor,
} from '@polymodal/tensor';
import { assertBatch, assertFinite, shouldCheckOutput, shouldCheckTarget } from './validate.js';

/** The label that marks a position the MLM loss ignores (−100; defined in `@polymodal/tensor`). */
export { IGNORE_INDEX };

export interface MaskTokensOptions extends RandomOptions {
  /** Size of the vocabulary; random replacements are drawn uniformly from [0, vocabSize). */
  vocabSize: number;
  /** The `[MASK]` token id. */
  maskTokenId: number;
  /** Ids never masked (`[CLS]`, `[SEP]`, …). */
  specialTokenIds?: readonly number[];
  /** The padding id, never masked. */
  padTokenId?: number;
  /** Probability that a (non-special, non-pad) token is selected. Default 0.15. */
  probability?: number;
  /** Shape of `inputIds` when it is a flat Int32Array (default `[length]`). */
  shape?: readonly number[];
}

export interface MaskedTokens {
  /** Int32 ids with selected tokens replaced (same shape as the input). */
  inputIds: Tensor;
  /** Int32: the original id at selected positions, {@link IGNORE_INDEX} (−100) elsewhere. */
  labels: Tensor;
}

function checkId(name: string, id: number, vocabSize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new ArgumentError('maskTokens', `${name} ${id} is not a token id in [0, ${vocabSize})`);
  }
}

/**
 * BERT's masked-language-model corruption (Devlin et al. 2019, §3.1; Hugging Face's
 * `DataCollatorForLanguageModeling`): each token is selected with probability `probability`
 * (15%), never a special or padding token; a selected token becomes `[MASK]` 80% of the time, a
 * uniformly random id from [0, vocabSize) 10% (special ids included, as in Hugging Face), and
 * stays unchanged 10%. Labels hold the original id at selected
 * positions and −100 elsewhere. Drawn on the host from the generator, so it is reproducible.
 *
 * ```ts
 * const { inputIds, labels } = maskTokens(ids, { vocabSize: 30522, maskTokenId: 103,
 *   specialTokenIds: [101, 102], padTokenId: 0, seed: 0 });  // ids: int32 [B, L] → both [B, L]
 * ```
 */
export function maskTokens(inputIds: Tensor | Int32Array, options: MaskTokensOptions): MaskedTokens {
  const op = 'maskTokens';
  const { vocabSize, maskTokenId } = options;
  const probability = options.probability ?? 0.15;
  checkPositiveInt(op, 'vocabSize', vocabSize);
  checkId('maskTokenId', maskTokenId, vocabSize);
  checkInRange(op, 'probability', probability, 0, 1);
  let ids: Int32Array;
  let shape: number[];
  if (inputIds instanceof Int32Array) {
    ids = inputIds;
    shape = options.shape ? [...options.shape] : [ids.length];
    if (shape.reduce((a, b) => a * b, 1) !== ids.length) {
      throw new ShapeError(op, `shape [${shape}] does not hold ${ids.length} ids`);
    }
  } else {
    assertTensor(op, 'inputIds', inputIds);
    if (inputIds.dtype !== 'int32') throw new DTypeError(op, `inputIds must be int32, got ${inputIds.dtype}`);
    ids = inputIds.dataSync() as Int32Array;
    shape = [...inputIds.shape];
  }
  if (ids.length === 0) throw new ShapeError(op, `inputIds is empty: [${shape}]`);
  const protectedIds = new Set<number>(options.specialTokenIds ?? []);
  if (options.padTokenId !== undefined) protectedIds.add(options.padTokenId);
  const g = generatorFrom(options);
  const outIds = new Int32Array(ids.length);
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= vocabSize) {
      throw new ArgumentError(op, `inputIds holds ${id} at flat index ${i}, outside [0, ${vocabSize})`);
    }
    outIds[i] = id;
    if (protectedIds.has(id) || g.uniform() >= probability) continue;
    labels[i] = id;
    const u = g.uniform();
    if (u < 0.8) outIds[i] = maskTokenId;
    else if (u < 0.9) outIds[i] = g.integer(0, vocabSize);
  }
  return {
    inputIds: tensor(outIds, { shape, dtype: 'int32' }),
    labels: tensor(labels, { shape, dtype: 'int32' }),
  };
}

export interface MlmLossOptions {
  /** Labels equal to this are skipped. Default −100. */
  ignoreIndex?: number;
  /** Label smoothing over the vocabulary (Szegedy et al. 2016). Default 0. */
  labelSmoothing?: number;
  /**
   * Check `logits` for NaN/∞ first. It reads all B·L·V values back to the host, so by default it
   * runs only in anomaly mode (`withAnomalyMode`); `true` forces it, `false` skips it.
   */
  checkFinite?: boolean;
}

export interface MlmLossOutput {
  /** Scalar: mean cross-entropy over the masked positions (0 when none is masked). */
  loss: Tensor;
  /**
   * How many positions were counted. A host number: counted while checking the labels where they
   * are in host memory, otherwise read from `labels` on first access (which must then still be
   * alive), so a loss on a GPU does not wait for the device unless this is asked for.
   */
  readonly numMaskedTokens: number;
}

/** Counts the labels that are not `ignoreIndex`, checking each is a class id in [0, vocab). */
function countMasked(op: string, flatLabels: ArrayLike<number>, ignoreIndex: number, vocab: number): number {
  let n = 0;
  for (let i = 0; i < flatLabels.length; i++) {
    const l = flatLabels[i]!;
    if (l === ignoreIndex) continue;
    if (l < 0 || l >= vocab) {
      throw new ArgumentError(
        op,
        `label ${l} at flat index ${i} is outside [0, ${vocab}) and not ${ignoreIndex}`,
      );
    }
    n++;
  }
  return n;
}

/**
 * Masked-language-model loss (BERT, Devlin et al. 2019): cross-entropy over the vocabulary at the
 * masked positions only,
 *
 *   L = −(1/|M|) Σ_{i∈M} log softmax(logits_i)[label_i],  M = { i : label_i ≠ −100 }.
 *
 * Unlike PyTorch (which returns NaN), a batch with no masked token gives loss 0.
 *
 * ```ts
 * const { loss } = mlmLoss(logits, labels); // logits [B, L, V] (or [N, V]), labels int32 [B, L] (or [N])
 * ```
 */
export function mlmLoss(logits: Tensor, labels: Tensor, options: MlmLossOptions = {}): MlmLossOutput {
  const op = 'mlmLoss';
  assertTensor(op, 'logits', logits);
  assertTensor(op, 'labels', labels);
  assertDType(op, 'labels', labels, 'int32');
  assertDType(op, 'logits', logits, 'float32');
  if (
    logits.rank < 2 ||
    labels.rank !== logits.rank - 1 ||
    labels.shape.some((d, i) => d !== logits.shape[i])
  ) {
    throw new ShapeError(
      op,
      `logits [..., V] and labels [...] must share leading dims, got logits [${logits.shape}] and labels [${labels.shape}]`,
    );
  }
  assertBatch(op, 'logits', logits);
  const ignoreIndex = options.ignoreIndex ?? IGNORE_INDEX;
  const vocab = logits.shape[logits.rank - 1]!;
  // Labels are checked (and counted) where that costs no device sync; `crossEntropy` would catch
  // a bad one there too, but without naming the ignore index.
  const counted = shouldCheckTarget(labels) ? countMasked(op, labels.dataSync(), ignoreIndex, vocab) : null;
  if (shouldCheckOutput(logits, options.checkFinite)) assertFinite(op, 'logits', logits);
  const loss = scope(() =>
    crossEntropy(reshape(logits, [-1, vocab]), reshape(labels, [-1]), {
      ignoreIndex,
      labelSmoothing: options.labelSmoothing ?? 0,
    }),
  );
  if (counted !== null) return { loss, numMaskedTokens: counted };
  // On a device: count on first access only. Not enumerable, so `scope` and `tensorsIn`, which
  // walk the values of a returned object, do not trigger the read.
  let lazy: number | null = null;
  const out = { loss } as MlmLossOutput;
  Object.defineProperty(out, 'numMaskedTokens', {
    get: () => {
      lazy ??= countMasked(op, labels.dataSync(), ignoreIndex, vocab);
      return lazy;
    },
    enumerable: false,
  });
  return out;
}
