import type { Tensor } from '@polymodal/tensor';
import { ElementwiseFusion, type ElementwiseFusionOptions } from './elementwise-fusion.js';

export type ProductFusionOptions = ElementwiseFusionOptions;

/**
 * Feature-level fusion by elementwise (Hadamard) product of per-modality projections,
 * `fused = ⊙_m (W_m x_m + b_m)` — the multiplicative interaction used by VQA models (e.g. the
 * question–image product of Antol et al. 2015, and the rank-1 case of MLB/MFB bilinear pooling).
 * Products of ±features express XOR-like interactions directly. Inputs `[B, D_m]` →
 * `[B, outputDim]`. Parameters `Σ_m (D_m + 1)·outputDim`.
 *
 * ```ts
 * const fusion = new ProductFusion({ inputDims: { image: 512, text: 768 }, outputDim: 256, seed: 0 });
 * fusion.forward({ image, text }).fused; // [B, 256]
 * ```
 */
export class ProductFusion extends ElementwiseFusion {
  constructor(options: ProductFusionOptions) {
    super('ProductFusion', options);
  }

  protected combine(a: Tensor, b: Tensor): Tensor {
    return a.mul(b);
  }
}
