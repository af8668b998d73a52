import { hasProjectionSlots, Linear, type Module, namePattern, type ProjectionSlot } from '@polymodal/nn';
import { ArgumentError, Generator, type Tensor } from '@polymodal/tensor';
import { LoraLinear } from './lora-linear.js';
import { LoraProjection } from './lora-projection.js';
import { LoraUpdate } from './lora-update.js';

export interface ApplyLoraOptions {
  /**
   * What gets an adapter, by module name (PEFT's `target_modules`): every `Linear`, and every
   * projection slot of a module that packs several (the `q_proj`, `k_proj`, `v_proj` of
   * `MultiHeadAttention`, also selected by `q`, `k`, `v`). A plain word (`'q_proj'`, `'v'`,
   * `'out_proj'`) matches the last name segment; a string with `*`/`**` or dots is a glob over the
   * full dotted name (`'encoder.layers.*.self_attn.q_proj'`); a RegExp is tested against the full name.
   */
  targetModules: readonly (string | RegExp)[];
  rank: number;
  /** Default = rank (scaling 1). */
  alpha?: number;
  dropout?: number;
  /** Seed for the A matrices' init and the dropout masks (each layer gets its own stream). */
  seed?: number;
  /** Leave parameters whose names match trainable too (e.g. a classifier head, PEFT's `modules_to_save`). */
  trainable?: readonly (string | RegExp)[];
}

function matcher(pattern: string | RegExp): (name: string) => boolean {
  if (pattern instanceof RegExp) return (name) => pattern.test(name);
  if (!pattern.includes('*') && !pattern.includes('.'))
    return (name) => name === pattern || name.endsWith(`.${pattern}`);
  const full = namePattern(pattern);
  return (name) => full.test(name);
}

type Target = { name: string; linear: Linear } | { name: string; slot: ProjectionSlot };

/**
 * Adds LoRA adapters (Hu et al. 2021) to a model in place and freezes every other parameter.
 * Returns the names of the adapted projections.
 *
 * - A `Linear` whose name matches `targetModules` is replaced (via `setSubmodule`) by a
 *   `LoraLinear` wrapping it: its weights move to `<name>.base.weight`, the adapter is
 *   `<name>.loraA` / `<name>.loraB`.
 * - A projection slot of a module that packs several projections in one parameter
 *   (`MultiHeadAttention`'s `in_proj_weight`, PyTorch's layout) gets a `LoraProjection` on its rows,
 *   registered as `<module>.q_proj` (`.loraA`, `.loraB`); the packed weight keeps its name, so a
 *   PyTorch state dict still loads, and merging adds `(alpha/r)·B·A` to those rows only.
 *
 * ```ts
 * applyLora(model, { targetModules: ['q_proj', 'v_proj'], rank: 8, alpha: 16, dropout: 0.05, seed: 0 });
 * // → ['encoder.layers.0.self_attn.q_proj', 'encoder.layers.0.self_attn.v_proj', …]
 * parameterCountReport(model).summary; // only the adapters are trainable
 * ```
 */
export function applyLora(model: Module, options: ApplyLoraOptions): string[] {
  if (options.targetModules.length === 0) throw new ArgumentError('applyLora', 'targetModules is empty');
  const matchers = options.targetModules.map(matcher);
  const matches = (...names: string[]) => names.some((n) => matchers.some((f) => f(n)));
  const targets: Target[] = [];
  // Never adapt an adapter, nor the layer a LoraLinear wraps.
  const adapted = loraLayers(model).map(([n]) => `${n}.`);
  for (const [name, m] of model.namedModules()) {
    if (m instanceof LoraUpdate || adapted.some((p) => name.startsWith(p))) continue;
    if (name !== '' && m instanceof Linear && matches(name)) targets.push({ name, linear: m });
    if (!hasProjectionSlots(m)) continue;
    const prefix = name === '' ? '' : `${name}.`;
    for (const slot of m.projectionSlots()) {
      if (slot.adapter) continue;
      if (matches(...[slot.name, ...slot.aliases].map((n) => prefix + n)))
        targets.push({ name: prefix + slot.name, slot });
    }
  }
  if (targets.length === 0)
    throw new ArgumentError(
      'applyLora',
      `no Linear layer or attention projection matches targetModules [${options.targetModules.join(', ')}]`,
    );
  model.freeze();
  const seeds = new Generator(options.seed ?? 0);
  const loraOptions = () => ({
    rank: options.rank,
    ...(options.alpha !== undefined && { alpha: options.alpha }),
    ...(options.dropout !== undefined && { dropout: options.dropout }),
    seed: seeds.nextUint32(),
  });
  for (const t of targets) {
    if ('linear' in t) model.setSubmodule(t.name, new LoraLinear(t.linear, loraOptions()));
    else t.slot.attach(new LoraProjection(t.slot, loraOptions()));
  }
  for (const pattern of options.trainable ?? []) model.unfreeze(pattern);
  return targets.map((t) => t.name);
}

/**
 * The LoRA adapters of a model (`LoraLinear` and `LoraProjection`), by dotted name.
 *
 * ```ts
 * loraLayers(model).map(([name, l]) => `${name}: r=${l.rank}`); // ['block.attn.q_proj: r=8', …]
 * ```
 */
export function loraLayers(model: Module): [string, LoraUpdate][] {
  return model.namedModules().filter((e): e is [string, LoraUpdate] => e[1] instanceof LoraUpdate);
}

/**
 * Folds every adapter into its base weight (for inference without overhead).
 *
 * ```ts
 * mergeLora(model); model.eval().forward(x); // same output, no adapter matmuls
 * ```
 */
export function mergeLora(model: Module): void {
  for (const [, l] of loraLayers(model)) l.merge();
}

/**
 * Takes every adapter back out of its base weight (to train on, or swap adapters).
 *
 * ```ts
 * unmergeLora(model);
 * ```
 */
export function unmergeLora(model: Module): void {
  for (const [, l] of loraLayers(model)) l.unmerge();
}

/**
 * The adapter weights alone: `{ '<layer>.loraA': A, '<layer>.loraB': B }` (live tensors).
 *
 * ```ts
 * const adapters = loraStateDict(model); // a few KB instead of the whole model
 * ```
 */
export function loraStateDict(model: Module): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, l] of loraLayers(model)) {
    out[`${name}.loraA`] = l.loraA;
    out[`${name}.loraB`] = l.loraB;
  }
  return out;
}

/**
 * Loads adapter weights into a model that already has `LoraLinear` layers (swapping adapters on
 * one base model). A merged model is unmerged first and re-merged after. Every adapter key must be
 * present with the right shape.
 *
 * ```ts
 * loadLoraStateDict(model, adapterForTaskB);
 * ```
 */
export function loadLoraStateDict(model: Module, sd: Record<string, Tensor>): void {
  const layers = loraLayers(model);
  const expected = new Set<string>();
  const problems: string[] = [];
  for (const [name, l] of layers) {
    for (const [key, t] of [
      [`${name}.loraA`, l.loraA],
      [`${name}.loraB`, l.loraB],
    ] as const) {
      expected.add(key);
      const v = sd[key];
      if (!v) problems.push(`missing '${key}'`);
      else if (v.shape.join() !== t.shape.join())
        problems.push(`'${key}' has shape [${v.shape}], the model expects [${t.shape}]`);
    }
  }
  for (const key of Object.keys(sd)) if (!expected.has(key)) problems.push(`unexpected '${key}'`);
  if (problems.length) throw new ArgumentError('loadLoraStateDict', problems.join('; '));
  for (const [name, l] of layers) {
    const wasMerged = l.merged;
    l.unmerge();
    l.loraA.assign(sd[`${name}.loraA`]!);
    l.loraB.assign(sd[`${name}.loraB`]!);
    if (wasMerged) l.merge();
  }
}
