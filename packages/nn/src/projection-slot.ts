import type { Tensor } from '@polymodal/tensor';
import type { Module } from './module.js';

/**
 * A module added to a projection's output: `forward(x)` takes the projection's input and returns
 * the update to add (`[..., outFeatures]`), or `null` when there is nothing to add (e.g. a LoRA
 * adapter whose update is merged into the weight).
 */
export interface ProjectionAdapter extends Module {
  forward(x: Tensor): Tensor | null;
}

/**
 * A linear projection that lives inside a larger parameter — the q, k or v rows of
 * `MultiHeadAttention`'s packed `in_proj_weight` (PyTorch's layout) — exposed so that adapters
 * such as LoRA can target it by name as if it were a `Linear`, while the packed parameter (and so
 * a PyTorch state dict) stays as it is: `y = x·W[rows]ᵀ + b[rows] + adapter(x)`.
 *
 * ```ts
 * const [q] = mha.projectionSlots(); // q.name 'q_proj', rows [0, E) of in_proj_weight
 * q.attach(myAdapter); // registered as the submodule 'q_proj'; its output is added to q
 * ```
 */
export interface ProjectionSlot {
  /** Its name under the owning module, as PEFT's `target_modules` know it: `'q_proj'`. */
  readonly name: string;
  /** Shorter names that select it too: `['q']`. */
  readonly aliases: readonly string[];
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The parameter that holds the weight, `[rows, inFeatures]` … */
  readonly weight: Tensor;
  /** … and the first of its `outFeatures` rows that are this projection. */
  readonly rowOffset: number;
  /** The adapter attached now, or null. */
  readonly adapter: ProjectionAdapter | null;
  /** Registers `adapter` as the submodule `name` (replacing one attached before). */
  attach(adapter: ProjectionAdapter): void;
}

/** A module that exposes projections held inside larger parameters (see {@link ProjectionSlot}). */
export interface HasProjectionSlots {
  projectionSlots(): ProjectionSlot[];
}

/**
 * Whether `m` exposes projection slots (`MultiHeadAttention` does).
 *
 * ```ts
 * model.namedModules().filter(([, m]) => hasProjectionSlots(m)); // every attention block
 * ```
 */
export function hasProjectionSlots(m: Module): m is Module & HasProjectionSlots {
  return typeof (m as Partial<HasProjectionSlots>).projectionSlots === 'function';
}
