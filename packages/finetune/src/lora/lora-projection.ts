import type { ProjectionAdapter, ProjectionSlot } from '@polymodal/nn';
import type { Tensor } from '@polymodal/tensor';
import { type LoraMergeTarget, type LoraOptions, LoraUpdate } from './lora-update.js';

/**
 * LoRA (Hu et al. 2021) on a projection that lives inside a larger parameter — a
 * {@link ProjectionSlot} such as the q, k or v rows of `MultiHeadAttention`'s packed
 * `in_proj_weight` (what PEFT users target as `q_proj` / `v_proj`). Attached to the slot, its
 * `forward(x)` returns the update `(alpha/r)·dropout(x)·Aᵀ·Bᵀ` that the owner adds to that
 * projection's output; `merge()` adds `(alpha/r)·B·A` to exactly those rows of the packed weight.
 * The packed parameter keeps its name and shape, so a PyTorch state dict still loads into it.
 *
 * ```ts
 * const [q] = mha.projectionSlots();
 * q.attach(new LoraProjection(q, { rank: 4, alpha: 8, seed: 0 })); // params 'q_proj.loraA', 'q_proj.loraB'
 * ```
 */
export class LoraProjection extends LoraUpdate implements ProjectionAdapter {
  private readonly target: LoraMergeTarget;

  constructor(slot: ProjectionSlot, options: LoraOptions) {
    super('LoraProjection', slot.inFeatures, slot.outFeatures, options);
    this.target = { weight: slot.weight, rowOffset: slot.rowOffset };
  }

  protected mergeTarget(): LoraMergeTarget {
    return this.target;
  }

  /** The update to add to the projection's output, `[..., in]` → `[..., out]`; null once merged. */
  forward(x: Tensor): Tensor | null {
    return this.merged ? null : this.update(x);
  }
}
