import { Linear, type Module, namePattern } from '@polymodal/nn';
import { ArgumentError, Generator, type Tensor } from '@polymodal/tensor';
import { LoraLinear } from './lora-linear.js';

export interface ApplyLoraOptions {
  /**
   * Which `Linear` layers get an adapter, by module name: a plain word (`'q'`, `'v'`) matches the
   * last name segment (PEFT's `target_modules`); a string with `*`/`**` or dots is a glob over the
   * full dotted name; a RegExp is tested against the full name.
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

/**
 * Adds LoRA adapters (Hu et al. 2021) to a model in place: every `Linear` whose name matches
 * `targetModules` is replaced (via `setSubmodule`) by a `LoraLinear` wrapping it, and every other
 * parameter is frozen. Returns the names of the wrapped layers. Wrapped layers' base weights move
 * to `<name>.base.weight`; adapters are `<name>.loraA` / `<name>.loraB`.
 *
 * ```ts
 * applyLora(model, { targetModules: ['q', 'v'], rank: 8, alpha: 16, dropout: 0.05, seed: 0 });
 * parameterCountReport(model).summary; // only the adapters are trainable
 * ```
 */
export function applyLora(model: Module, options: ApplyLoraOptions): string[] {
  if (options.targetModules.length === 0) throw new ArgumentError('applyLora', 'targetModules is empty');
  const matchers = options.targetModules.map(matcher);
  const targets = model
    .namedModules()
    .filter(([name, m]) => name !== '' && m instanceof Linear && matchers.some((f) => f(name)));
  if (targets.length === 0)
    throw new ArgumentError(
      'applyLora',
      `no Linear layer matches targetModules [${options.targetModules.join(', ')}]`,
    );
  model.freeze();
  const seeds = new Generator(options.seed ?? 0);
  const wrapped: string[] = [];
  for (const [name, m] of targets) {
    const lora = new LoraLinear(m as Linear, {
      rank: options.rank,
      ...(options.alpha !== undefined && { alpha: options.alpha }),
      ...(options.dropout !== undefined && { dropout: options.dropout }),
      seed: seeds.nextUint32(),
    });
    model.setSubmodule(name, lora);
    wrapped.push(name);
  }
  for (const pattern of options.trainable ?? []) model.unfreeze(pattern);
  return wrapped;
}

/**
 * The `LoraLinear` layers of a model, by dotted name.
 *
 * ```ts
 * loraLayers(model).map(([name, l]) => `${name}: r=${l.rank}`); // ['block.q: r=8', …]
 * ```
 */
export function loraLayers(model: Module): [string, LoraLinear][] {
  return model.namedModules().filter((e): e is [string, LoraLinear] => e[1] instanceof LoraLinear);
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
