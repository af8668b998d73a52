import {
  ArgumentError,
  assertDType,
  assertShape,
  assertTensor,
  crossEntropy,
  formatShape,
  generatorFrom,
  noGrad,
  type RandomOptions,
  ShapeError,
  scope,
  type Tensor,
  tensor,
} from '@polymodal/tensor';
import { assertBatch, assertFinite, shouldCheckOutput, shouldCheckTarget } from './validate.js';

export interface HardNegativeOptions extends RandomOptions {
  /**
   * Optional id per batch item (e.g. the image id, as BLIP does): items sharing an id are never
   * drawn as each other's negative. Default: every item is distinct.
   */
  ids?: ArrayLike<number>;
}

export interface HardNegatives {
  /** Int32 `[N]`: for image i, the index of the text drawn as its hard negative. */
  negativeTextIndices: Tensor;
  /** Int32 `[N]`: for text j, the index of the image drawn as its hard negative. */
  negativeImageIndices: Tensor;
}

/** Throws an ArgumentError naming the first NaN or ±∞ of values already read from `t`. */
function finiteValues(op: string, name: string, values: ArrayLike<number>, t: Tensor): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!))
      throw new ArgumentError(op, `${name} ${formatShape(t.shape)} holds ${values[i]} at flat index ${i}`);
  }
}

/** Draws one index per row with probability ∝ softmax(row) over the allowed columns. */
function drawRows(
  op: string,
  values: ArrayLike<number>,
  n: number,
  allowed: (i: number, j: number) => boolean,
  uniform: () => number,
): Int32Array {
  const out = new Int32Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) if (allowed(i, j)) max = Math.max(max, values[i * n + j]!);
    if (max === Number.NEGATIVE_INFINITY) {
      throw new ArgumentError(op, `row ${i} has no candidate negative (every item shares its id)`);
    }
    let total = 0;
    for (let j = 0; j < n; j++) {
      // Subtracting the row max keeps exp finite; the softmax normaliser cancels in the ratio.
      w[j] = allowed(i, j) ? Math.exp(values[i * n + j]! - max) : 0;
      total += w[j]!;
    }
    let u = uniform() * total;
    let pick = -1;
    for (let j = 0; j < n; j++) {
      if (w[j]! === 0) continue;
      pick = j;
      u -= w[j]!;
      if (u < 0) break;
    }
    out[i] = pick;
  }
  return out;
}

/**
 * Hard-negative mining for image–text matching as in ALBEF (Li et al. 2021, "Align before Fuse",
 * §3.2) and BLIP (Li et al. 2022): for every image one negative text, and for every text one
 * negative image, drawn with probability ∝ softmax(similarity) over the batch with the positive
 * (and any item sharing its id) excluded; more similar, harder negatives are drawn more often.
 * Pass the temperature-scaled similarities the ITC step already computed (e.g. `logitsPerImage`
 * and `logitsPerText`). Unlike ALBEF's code, no 1e-4 is added to the weights, so the draw is
 * exactly ∝ softmax. Sampled on the host from the generator (no gradient flows).
 *
 * ```ts
 * const { negativeTextIndices, negativeImageIndices } = sampleHardNegatives(simI2T, simT2I, { seed: 0 });
 * // simI2T, simT2I: [N, N] (e.g. logitsPerImage, logitsPerText) → int32 [N] each
 * const negText = indexSelect(textEmbeds, 0, negativeTextIndices);
 * ```
 */
export function sampleHardNegatives(
  simI2T: Tensor,
  simT2I: Tensor,
  options: HardNegativeOptions = {},
): HardNegatives {
  const op = 'sampleHardNegatives';
  assertTensor(op, 'simI2T', simI2T);
  assertTensor(op, 'simT2I', simT2I);
  assertShape(op, 'simI2T', simI2T, [null, null], '[N, N]');
  const n = simI2T.shape[0]!;
  if (simI2T.shape[1] !== n)
    throw new ShapeError(op, `simI2T must be square [N, N], got ${formatShape(simI2T.shape)}`);
  assertShape(op, 'simT2I', simT2I, [n, n], `[${n}, ${n}] like simI2T`);
  assertBatch(op, 'simI2T', simI2T, 2);
  const ids = options.ids;
  if (ids !== undefined && ids.length !== n) {
    throw new ShapeError(op, `ids has ${ids.length} entries for a batch of ${n}`);
  }
  const allowed = (i: number, j: number) => i !== j && (ids === undefined || ids[i] !== ids[j]);
  const g = generatorFrom(options);
  const uniform = () => g.uniform();
  // The one read this needs: the draw runs on the host. Its values are checked as they are.
  const i2t = noGrad(() => simI2T.dataSync());
  const t2i = noGrad(() => simT2I.dataSync());
  finiteValues(op, 'simI2T', i2t, simI2T);
  finiteValues(op, 'simT2I', t2i, simT2I);
  const negativeTextIndices = drawRows(op, i2t, n, allowed, uniform);
  const negativeImageIndices = drawRows(op, t2i, n, allowed, uniform);
  return {
    negativeTextIndices: tensor(negativeTextIndices, { dtype: 'int32' }),
    negativeImageIndices: tensor(negativeImageIndices, { dtype: 'int32' }),
  };
}

export interface ItmLossOutput {
  /** Scalar: mean cross-entropy of the two-way match/no-match classifier. */
  loss: Tensor;
  /** `[M, 2]`, as given. */
  logits: Tensor;
  /** Int32 `[M]`, as given (1 = matching pair, 0 = not). */
  labels: Tensor;
}

/**
 * Image–text matching loss (ALBEF, Li et al. 2021; BLIP, Li et al. 2022): binary classification of
 * fused pairs as matched (1) or not (0) with a 2-way head, trained with cross-entropy,
 *
 *   L = −(1/M) Σ_m log softmax(logits_m)[label_m].
 *
 * Typically M = 3N: N positives, N (image, hard-negative text) and N (hard-negative image, text).
 *
 * ```ts
 * const { loss } = itmLoss(itmHead.forward(fusedCls), labels); // logits [M, 2], labels int32 [M] in {0, 1}
 * ```
 */
export function itmLoss(
  logits: Tensor,
  labels: Tensor,
  options: { checkFinite?: boolean } = {},
): ItmLossOutput {
  const op = 'itmLoss';
  assertTensor(op, 'logits', logits);
  assertTensor(op, 'labels', labels);
  assertShape(op, 'logits', logits, [null, 2], '[M, 2]');
  assertDType(op, 'logits', logits, 'float32');
  assertDType(op, 'labels', labels, 'int32');
  const m = logits.shape[0]!;
  assertShape(op, 'labels', labels, [m], `[${m}] to match logits ${formatShape(logits.shape)}`);
  assertBatch(op, 'logits', logits);
  if (shouldCheckTarget(labels)) {
    const values = labels.dataSync();
    const bad = values.findIndex((v) => v !== 0 && v !== 1);
    if (bad >= 0) throw new ArgumentError(op, `labels must be 0 or 1, got ${values[bad]} at position ${bad}`);
  }
  if (shouldCheckOutput(logits, options.checkFinite)) assertFinite(op, 'logits', logits);
  const loss = scope(() => crossEntropy(logits, labels));
  return { loss, logits, labels };
}

/**
 * ITM labels in ALBEF's batch layout: N ones (positives) then `numNegatives` zeros.
 *
 * ```ts
 * itmLabels(4, 8); // int32 [12]: 1,1,1,1,0,…,0
 * ```
 */
export function itmLabels(numPositives: number, numNegatives = 2 * numPositives): Tensor {
  for (const [name, v] of [
    ['numPositives', numPositives],
    ['numNegatives', numNegatives],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new ArgumentError('itmLabels', `${name} must be a count, got ${v}`);
  }
  const out = new Int32Array(numPositives + numNegatives);
  out.fill(1, 0, numPositives);
  return tensor(out, { dtype: 'int32' });
}
