import type { Linear } from '@polymodal/nn';
import { scope, type Tensor } from '@polymodal/tensor';
import { type LoraMergeTarget, type LoraOptions, LoraUpdate } from './lora-update.js';

export type { LoraOptions } from './lora-update.js';

/**
 * A `Linear` layer with a low-rank adapter (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large
 * Language Models"): `y = base(x) + (alpha/r) · dropout(x)·Aᵀ·Bᵀ`, with `A ~ kaiming-uniform(a=√5)`
 * and `B = 0` (so the wrapped layer starts out identical to the base). The base weights are
 * frozen; `merge()` folds `(alpha/r)·B·A` into the base weight for inference, `unmerge()` takes it out.
 * Shapes: `x [..., in]` → `[..., out]`.
 *
 * ```ts
 * const lora = new LoraLinear(new Linear(64, 64), { rank: 8, alpha: 16, seed: 0 });
 * lora.forward(randn([2, 64])); // [2, 64]
 * ```
 */
export class LoraLinear extends LoraUpdate {
  readonly base: Linear;

  constructor(base: Linear, options: LoraOptions) {
    super('LoraLinear', base.inFeatures, base.outFeatures, options);
    this.base = this.registerModule('base', base);
    base.freeze();
  }

  protected mergeTarget(): LoraMergeTarget {
    return { weight: this.base.weight, rowOffset: 0 };
  }

  forward(x: Tensor): Tensor {
    if (this.merged) return this.base.forward(x);
    return scope(() => this.base.forward(x).add(this.update(x)));
  }
}
