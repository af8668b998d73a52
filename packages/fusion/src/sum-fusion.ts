import type { Tensor } from '@polymodal/tensor';
import { ElementwiseFusion, type ElementwiseFusionOptions } from './elementwise-fusion.js';

export type SumFusionOptions = ElementwiseFusionOptions;

/**
 * Feature-level fusion by summation: each modality is projected to a common width and the
 * projections are added, `fused = Σ_m (W_m x_m + b_m)` (torchmultimodal's `sum` reduction after
 * per-modality projection). Additive, so a linear read-out of it cannot express interactions such
 * as XOR between modalities: put a non-linear head on top. Inputs `[B, D_m]` → `[B, outputDim]`.
 * Parameters `Σ_m (D_m + 1)·outputDim`.
 *
 * ```ts
 * const fusion = new SumFusion({ inputDims: { image: 512, text: 768 }, outputDim: 256, seed: 0 });
 * fusion.forward({ image, text }).fused; // [B, 256]
 * ```
 */
export class SumFusion extends ElementwiseFusion {
  constructor(options: SumFusionOptions) {
    super('SumFusion', options);
  }

  protected combine(a: Tensor, b: Tensor): Tensor {
    return a.add(b);
  }
}
