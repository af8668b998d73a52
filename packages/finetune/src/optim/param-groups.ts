import type { Tensor } from '@polymodal/tensor';
import type { ParamGroupInput } from './optimizer.js';

export interface WeightDecayGroupOptions {
  /** Decay applied to the "decay" group. */
  weightDecay: number;
  /**
   * Which parameters get no decay. Default: biases and every 1-D parameter (norm weights and
   * biases, embeddings' scale vectors), the usual BERT/ViT recipe.
   */
  noDecay?: (name: string, p: Tensor) => boolean;
  /** Keep parameters with `requiresGrad = false` (default false: frozen ones are left out). */
  includeFrozen?: boolean;
}

/**
 * The default rule: names ending in `bias` and tensors of rank ≤ 1 are not decayed.
 *
 * ```ts
 * defaultNoDecay('fc.bias', b);      // true
 * defaultNoDecay('norm.weight', g);  // true (1-D)
 * defaultNoDecay('fc.weight', w);    // false
 * ```
 */
export function defaultNoDecay(name: string, p: Tensor): boolean {
  return name === 'bias' || name.endsWith('.bias') || p.rank <= 1;
}

/**
 * Splits named parameters into two groups, `{ params: decayed, weightDecay }` and
 * `{ params: rest, weightDecay: 0 }` (empty groups omitted), for AdamW and friends.
 *
 * ```ts
 * const opt = new AdamW(paramGroupsWithWeightDecay(model.namedParameters(), { weightDecay: 0.05 }), { lr: 1e-4 });
 * ```
 */
export function paramGroupsWithWeightDecay(
  namedParameters: Iterable<[string, Tensor]>,
  options: WeightDecayGroupOptions,
): ParamGroupInput[] {
  const noDecay = options.noDecay ?? defaultNoDecay;
  const decay: Tensor[] = [];
  const rest: Tensor[] = [];
  for (const [name, p] of namedParameters) {
    if (!options.includeFrozen && !p.requiresGrad) continue;
    (noDecay(name, p) ? rest : decay).push(p);
  }
  const groups: ParamGroupInput[] = [];
  if (decay.length) groups.push({ params: decay, weightDecay: options.weightDecay });
  if (rest.length) groups.push({ params: rest, weightDecay: 0 });
  return groups;
}
