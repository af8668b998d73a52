import { setTrainable } from '@polymodal/nn';
import { checkPositiveInt, type Tensor } from '@polymodal/tensor';
import { defaultLayerId, type HasNamedParameters, type LayerIdFn } from './layer-id.js';

type Patterns = string | RegExp | readonly (string | RegExp)[];

/**
 * Sets `requiresGrad = false` on every parameter whose dotted name matches one of the patterns
 * (`*` within a segment, `**` across, or RegExps); returns the names frozen. Gradients of frozen
 * parameters are cleared, as `Module.freeze` does (both are @polymodal/nn's `setTrainable`).
 *
 * ```ts
 * freezeParameters(model, ['embeddings.**', 'encoder.layers.0.**']);
 * ```
 */
export function freezeParameters(model: HasNamedParameters, patterns: Patterns): string[] {
  return setTrainable(model.namedParameters(), patterns, false);
}

/** The inverse of `freezeParameters`: `requiresGrad = true` on matching parameters. */
export function unfreezeParameters(model: HasNamedParameters, patterns: Patterns): string[] {
  return setTrainable(model.namedParameters(), patterns, true);
}

export interface ParameterCountReport {
  trainable: number;
  frozen: number;
  total: number;
  /** trainable / total, in percent. */
  trainablePercent: number;
  /** Per top-level module (first name segment): counts of trainable and frozen elements. */
  byModule: Record<string, { trainable: number; frozen: number }>;
  /** A one-line summary like PEFT's `print_trainable_parameters`. */
  summary: string;
}

/**
 * Counts trainable vs frozen parameter elements (like PEFT's `print_trainable_parameters`).
 *
 * ```ts
 * parameterCountReport(model).summary; // 'trainable params: 8,192 || all params: 1,000,000 || trainable%: 0.82'
 * ```
 */
export function parameterCountReport(model: HasNamedParameters): ParameterCountReport {
  let trainable = 0;
  let frozen = 0;
  const byModule: ParameterCountReport['byModule'] = {};
  const seen = new Set<Tensor>();
  for (const [name, p] of model.namedParameters()) {
    if (seen.has(p)) continue;
    seen.add(p);
    const top = name.split('.')[0]!;
    const entry = (byModule[top] ??= { trainable: 0, frozen: 0 });
    if (p.requiresGrad) {
      trainable += p.size;
      entry.trainable += p.size;
    } else {
      frozen += p.size;
      entry.frozen += p.size;
    }
  }
  const total = trainable + frozen;
  const trainablePercent = total === 0 ? 0 : (100 * trainable) / total;
  const fmt = (n: number) => n.toLocaleString('en-US');
  return {
    trainable,
    frozen,
    total,
    trainablePercent,
    byModule,
    summary: `trainable params: ${fmt(trainable)} || all params: ${fmt(total)} || trainable%: ${trainablePercent.toFixed(4)}`,
  };
}

export interface GradualUnfreezingOptions {
  /** Number of blocks (layer ids 1..numLayers). */
  numLayers: number;
  /** Unfreeze one more layer every `every` epochs (default 1). */
  every?: number;
  /** Layer ids unfrozen at epoch 0, counted from the top (default 1: the head only). */
  initiallyTrainable?: number;
  getLayerId?: LayerIdFn;
}

/**
 * Gradual unfreezing (Howard & Ruder 2018, "ULMFiT"): starts with only the top layer id(s)
 * trainable and unfreezes one more layer, top-down, every `every` epochs. Layer ids follow
 * `defaultLayerId` (head numLayers + 1 … embeddings 0) or a custom rule. Call
 * `onEpochStart(epoch)` at the start of each epoch; it returns the names unfrozen now.
 * Parameters that were frozen before this is created stay frozen.
 *
 * ```ts
 * const unfreezer = new GradualUnfreezer(model, { numLayers: 12, every: 2 });
 * for (let epoch = 0; epoch < 20; epoch++) { unfreezer.onEpochStart(epoch); train(); }
 * ```
 */
export class GradualUnfreezer {
  private readonly ids = new Map<string, number>();
  private readonly every: number;
  private readonly initially: number;
  private readonly top: number;

  constructor(
    private readonly model: HasNamedParameters,
    options: GradualUnfreezingOptions,
  ) {
    this.every = options.every ?? 1;
    checkPositiveInt('GradualUnfreezer', 'every', this.every);
    this.initially = options.initiallyTrainable ?? 1;
    this.top = options.numLayers + 1;
    const getLayerId = options.getLayerId ?? defaultLayerId;
    for (const [name, p] of model.namedParameters()) {
      if (p.requiresGrad) this.ids.set(name, getLayerId(name, options.numLayers));
    }
    this.onEpochStart(0);
  }

  /** The lowest layer id trainable at `epoch`. */
  lowestTrainableLayer(epoch: number): number {
    return Math.max(0, this.top + 1 - this.initially - Math.floor(epoch / this.every));
  }

  /** Applies the schedule for `epoch`; returns the names whose state changed to trainable. */
  onEpochStart(epoch: number): string[] {
    const lowest = this.lowestTrainableLayer(epoch);
    const unfrozen: string[] = [];
    for (const [name, p] of this.model.namedParameters()) {
      const id = this.ids.get(name);
      if (id === undefined) continue;
      const trainable = id >= lowest;
      if (trainable && !p.requiresGrad) unfrozen.push(name);
      p.requiresGrad = trainable;
      if (!trainable) p.zeroGrad();
    }
    return unfrozen;
  }
}
