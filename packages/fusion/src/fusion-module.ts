import { Module } from '@polymodal/nn';
import {
  ArgumentError,
  checkPositiveInt,
  formatShape,
  type RandomOptions,
  type Tensor,
} from '@polymodal/tensor';
import { FusionInputError } from './errors.js';

/** Modality name → features: `[B, D]` pooled vectors or `[B, L, D]` token sequences. */
export type FusionInputs = Record<string, Tensor>;

/**
 * Modality name → mask `[B, L]` (bool) for a sequence input: **true = real token, false =
 * padding**, Polymodal's convention for attention masks (Hugging Face's `attention_mask`;
 * `@polymodal/data`'s `collate` gives `attentionMask` in this form). `@polymodal/attention`'s
 * torch-mirroring modules take the opposite (`keyPaddingMask`, true = padding, as in torch);
 * strategies convert with `paddingMaskFromAttentionMask` (`toPaddingMask` here). A modality
 * without a mask is all real tokens.
 */
export type FusionMasks = Record<string, Tensor | null | undefined>;

/**
 * Modality name → int32 `[B]` row index, for inputs shared between samples: sample i of modality m
 * is row `rows[m][i]` of `inputs[m]` (a VQA batch of five questions per image passes each image's
 * cells once). See `FusionModule.forwardShared`.
 */
export type SharedRows = Record<string, Tensor>;

/** What a strategy takes per modality: pooled `[B, D]`, sequences `[B, L, D]`, or either. */
export type FusionInputKind = 'pooled' | 'sequence' | 'either';

/** What every fusion returns: `fused [B, outputDim]`, plus what the strategy can show. */
export interface FusionOutput {
  /** The fused representation, `[B, outputDim]` (class logits for `DecisionFusion`). */
  fused: Tensor;
  /** Token-level strategies: the fused sequence `[B, L, d]`. */
  sequence?: Tensor;
  /** The mask of `sequence`, `[B, L]`, true = real token (absent when nothing was padded). */
  mask?: Tensor;
  /** Weights over modalities: `[B, M]` (attention), `[M]` (weighted decisions), `[B, M, outputDim]` (gates). */
  weights?: Tensor;
  /** Decision-level: each modality's own logits `[B, numClasses]`, by modality name. */
  decisions?: Record<string, Tensor>;
  /** Per-modality intermediate features (late encoders, two-stream outputs), by modality name. */
  features?: Record<string, Tensor>;
  /** Hierarchical: the output of each fusion level, `[B, outputDim]`, by level name. */
  levels?: Record<string, Tensor>;
}

/** What every strategy's constructor takes: the modality widths, and a seed or generator for init. */
export interface FusionBaseOptions extends RandomOptions {
  /** Modality name → feature width (last input dimension). */
  inputDims: Record<string, number>;
}

/** Inputs after `checkInputs`: sorted by modality name, with their masks (null = none / pooled). */
export interface CheckedInputs {
  batch: number;
  tensors: Tensor[];
  masks: (Tensor | null)[];
}

/**
 * Checks a modality-width table (at least `min`, at most `max` modalities, names usable as module
 * names, positive integer widths) and returns the names sorted; throws `ArgumentError` otherwise.
 *
 * ```ts
 * checkInputDims('MyFusion', { text: 6, image: 8 }, 2); // ['image', 'text']
 * ```
 */
export function checkInputDims(
  op: string,
  inputDims: Record<string, number>,
  min = 1,
  max = Number.POSITIVE_INFINITY,
): string[] {
  if (typeof inputDims !== 'object' || inputDims === null) {
    throw new ArgumentError(op, 'inputDims must be an object mapping modality name → width');
  }
  const names = Object.keys(inputDims).sort();
  if (names.length < min || names.length > max) {
    const wanted =
      max === min ? `exactly ${min}` : max < Number.POSITIVE_INFINITY ? `${min}–${max}` : `at least ${min}`;
    throw new ArgumentError(
      op,
      `needs ${wanted} modalities, got ${names.length} (${names.join(', ') || 'none'})`,
    );
  }
  for (const name of names) {
    if (name === '' || name.includes('.')) {
      throw new ArgumentError(op, `modality name '${name}' must be non-empty and contain no '.'`);
    }
    checkPositiveInt(op, `inputDims.${name}`, inputDims[name] as number);
  }
  return names;
}

/**
 * @deprecated Use `checkPositiveInt` from `@polymodal/tensor` (the same check, shared by every
 * package); this alias stays so that existing strategies keep compiling.
 */
export const checkPositive: (op: string, name: string, value: number) => number = checkPositiveInt;

const describeInputs = (inputs: FusionInputs): string =>
  Object.entries(inputs)
    .map(([k, t]) => `${k}: ${t && typeof t === 'object' && 'shape' in t ? formatShape(t.shape) : typeof t}`)
    .join(', ');

/**
 * The one interface of every fusion strategy: a `Module` whose `forward(inputs, masks?)` takes a
 * record of modality name → features and optional padding masks, and returns a `FusionOutput`.
 * Each strategy declares its input widths (`inputDims`), its output width (`outputDim`) and whether
 * it takes pooled vectors or sequences (`inputKind`). Modalities are always processed in sorted-key
 * order (the torchmultimodal convention), so `{ text, image }` and `{ image, text }` are the same.
 *
 * ```ts
 * class MaxFusion extends FusionModule {
 *   readonly inputKind = 'pooled';
 *   readonly outputDim: number;
 *   constructor(inputDims: Record<string, number>) { super(inputDims); this.outputDim = … }
 *   forward(inputs: FusionInputs): FusionOutput {
 *     const { tensors } = this.checkInputs(inputs);
 *     return { fused: scope(() => stack(tensors).max(0)) };
 *   }
 * }
 * ```
 */
export abstract class FusionModule extends Module {
  /** Feature width of each modality (the last dimension of its input). */
  readonly inputDims: Readonly<Record<string, number>>;
  /** Modality names, sorted: the order every strategy concatenates and stacks in. */
  readonly modalities: readonly string[];
  /** Width of `fused`. */
  abstract readonly outputDim: number;
  /** Pooled `[B, D]`, sequences `[B, L, D]`, or either. */
  abstract readonly inputKind: FusionInputKind;

  constructor(
    inputDims: Record<string, number>,
    options: { minModalities?: number; maxModalities?: number } = {},
  ) {
    super();
    this.modalities = Object.freeze(
      checkInputDims(new.target.name, inputDims, options.minModalities ?? 1, options.maxModalities),
    );
    this.inputDims = Object.freeze(Object.fromEntries(this.modalities.map((m) => [m, inputDims[m]!])));
  }

  abstract override forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput;

  /**
   * `forward` for inputs whose rows are shared between samples: sample i of modality m is row
   * `rows[m][i]` of `inputs[m]` (and of its mask). The result equals `forward` on the gathered
   * inputs, which is what this default does; a strategy that can run part of its work once per
   * shared row overrides it (`FiLMFusion` convolves each image once in its first block).
   *
   * ```ts
   * // 2 images, 3 questions: the first two ask about image 0, the third about image 1.
   * const rows = { image: tensor([0, 0, 1], { dtype: 'int32' }) };
   * fusion.forwardShared({ image: cells2, text: questions3 }, rows, { text: mask3 }).fused; // [3, outputDim]
   * ```
   */
  forwardShared(inputs: FusionInputs, rows: SharedRows, masks: FusionMasks = {}): FusionOutput {
    this.checkSharedRows(inputs, rows);
    const gathered: FusionInputs = { ...inputs };
    const gatheredMasks: FusionMasks = { ...masks };
    for (const [name, index] of Object.entries(rows)) {
      gathered[name] = inputs[name]!.indexSelect(0, index);
      const mask = masks[name];
      if (mask) gatheredMasks[name] = mask.indexSelect(0, index);
    }
    return this.forward(gathered, gatheredMasks);
  }

  /**
   * Checks `forwardShared`'s rows: known modalities given in `inputs`, int32 `[B]` indices of one
   * length, each within its input's rows. Throws `FusionInputError` naming the modality otherwise.
   */
  protected checkSharedRows(inputs: FusionInputs, rows: SharedRows): void {
    const op = `${this.constructor.name}.forwardShared`;
    if (typeof rows !== 'object' || rows === null) {
      throw new FusionInputError(op, `rows must be a record of modality → int32 [B] index, got ${rows}`);
    }
    let length: number | null = null;
    for (const [name, index] of Object.entries(rows)) {
      if (!Object.hasOwn(this.inputDims, name)) {
        throw new FusionInputError(
          op,
          `rows for unexpected modality '${name}' (modalities: ${this.modalities.join(', ')})`,
          name,
        );
      }
      const x = inputs?.[name];
      if (!x || typeof x !== 'object' || !('shape' in x)) {
        throw new FusionInputError(op, `rows given for '${name}' but inputs has no tensor '${name}'`, name);
      }
      if (
        typeof index !== 'object' ||
        index === null ||
        !('shape' in index) ||
        index.dtype !== 'int32' ||
        index.rank !== 1
      ) {
        const got =
          index && typeof index === 'object' && 'shape' in index
            ? `${index.dtype} ${formatShape(index.shape)}`
            : String(index);
        throw new FusionInputError(op, `rows for '${name}' must be an int32 [B] index, got ${got}`, name);
      }
      if (length !== null && index.shape[0] !== length) {
        throw new FusionInputError(
          op,
          `rows differ in length: '${name}' has ${index.shape[0]}, another ${length}`,
          name,
        );
      }
      length = index.shape[0]!;
      const values = index.dataSync() as Int32Array;
      const rowsOf = x.shape[0]!;
      const bad = values.findIndex((v) => v < 0 || v >= rowsOf);
      if (bad >= 0) {
        throw new FusionInputError(
          op,
          `rows for '${name}' [${bad}] = ${values[bad]} is outside its input's ${rowsOf} rows (${formatShape(x.shape)})`,
          name,
        );
      }
    }
  }

  /**
   * Validates `inputs` and `masks` against `inputDims` and `inputKind`, and returns them in
   * sorted-modality order; `batch` is the number of samples (for a modality with shared `rows`, the
   * length of its index, its mask matching its own rows). Throws `FusionInputError` naming the
   * modality and shapes for a missing or unexpected modality, a non-float input, a wrong rank or
   * width, differing batch sizes, or a mask that is not a `[B, L]` bool tensor of a sequence input.
   */
  protected checkInputs(inputs: FusionInputs, masks: FusionMasks = {}, rows: SharedRows = {}): CheckedInputs {
    const op = `${this.constructor.name}.forward`;
    if (typeof inputs !== 'object' || inputs === null) {
      throw new FusionInputError(op, `inputs must be a record of modality → tensor, got ${inputs}`);
    }
    const expected = this.modalities.join(', ');
    for (const name of this.modalities) {
      if (!Object.hasOwn(inputs, name) || inputs[name] === undefined || inputs[name] === null) {
        throw new FusionInputError(
          op,
          `missing modality '${name}': expected {${expected}}, got {${describeInputs(inputs)}}`,
          name,
        );
      }
    }
    for (const name of Object.keys(inputs)) {
      if (!Object.hasOwn(this.inputDims, name)) {
        throw new FusionInputError(
          op,
          `unexpected modality '${name}': expected {${expected}}, got {${describeInputs(inputs)}}`,
          name,
        );
      }
    }
    const ranks = { pooled: [2], sequence: [3], either: [2, 3] }[this.inputKind];
    const form = { pooled: '[B, D]', sequence: '[B, L, D]', either: '[B, D] or [B, L, D]' }[this.inputKind];
    const tensors = this.modalities.map((name) => {
      const t = inputs[name]!;
      if (typeof t !== 'object' || !('shape' in t) || !('dtype' in t)) {
        throw new FusionInputError(op, `input '${name}' is not a Tensor`, name);
      }
      const width = this.inputDims[name]!;
      if (!ranks.includes(t.shape.length) || t.shape.at(-1) !== width) {
        throw new FusionInputError(
          op,
          `input '${name}' must be ${form.replace('D', String(width))}, got ${formatShape(t.shape)}`,
          name,
        );
      }
      if (t.dtype !== 'float32') {
        throw new FusionInputError(op, `input '${name}' must be float32, got ${t.dtype}`, name);
      }
      if (t.shape.some((d) => d === 0)) {
        throw new FusionInputError(op, `input '${name}' is empty: ${formatShape(t.shape)}`, name);
      }
      return t;
    });
    // A modality with shared rows (forwardShared) counts one sample per index entry.
    const samples = (t: Tensor, i: number) => rows[this.modalities[i]!]?.shape[0] ?? t.shape[0]!;
    const batch = samples(tensors[0]!, 0);
    if (tensors.some((t, i) => samples(t, i) !== batch)) {
      throw new FusionInputError(op, `batch sizes differ: {${describeInputs(inputs)}}`);
    }
    const given = masks ?? {};
    for (const name of Object.keys(given)) {
      if (!Object.hasOwn(this.inputDims, name)) {
        throw new FusionInputError(
          op,
          `mask for unexpected modality '${name}' (modalities: ${expected})`,
          name,
        );
      }
    }
    const checkedMasks = this.modalities.map((name, i) => {
      const mask = given[name];
      if (mask === undefined || mask === null) return null;
      const x = tensors[i]!;
      if (x.shape.length !== 3) {
        throw new FusionInputError(
          op,
          `mask for '${name}' given but its input is pooled ${formatShape(x.shape)}; masks are for [B, L, D] sequences`,
          name,
        );
      }
      const want = [x.shape[0]!, x.shape[1]!];
      if (mask.shape.length !== 2 || mask.shape[0] !== want[0] || mask.shape[1] !== want[1]) {
        throw new FusionInputError(
          op,
          `mask for '${name}' must be ${formatShape(want)} (bool, true = real token) to match input ${formatShape(x.shape)}, got ${formatShape(mask.shape)}`,
          name,
        );
      }
      if (mask.dtype !== 'bool') {
        throw new FusionInputError(
          op,
          `mask for '${name}' must be bool (true = real token), got ${mask.dtype}${mask.dtype === 'int32' ? ' (an int 1/0 attention mask converts with mask.bool())' : ''}`,
          name,
        );
      }
      return mask;
    });
    return { batch, tensors, masks: checkedMasks };
  }

  protected override extraRepr(): string {
    const dims = this.modalities.map((m) => `${m}=${this.inputDims[m]}`).join(', ');
    return `inputDims={${dims}}, outputDim=${this.outputDim}`;
  }
}
