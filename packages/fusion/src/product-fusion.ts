import { generatorFrom, type Linear, type ModuleDict } from '@polymodal/nn';
import { scope, type Tensor } from '@polymodal/tensor';
import {
  checkPositive,
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { modalityProjections } from './projections.js';

export interface ProductFusionOptions extends FusionBaseOptions {
  /** Common width each modality is projected to. */
  outputDim: number;
}

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
export class ProductFusion extends FusionModule {
  readonly inputKind = 'pooled';
  readonly outputDim: number;
  readonly projections: ModuleDict<Linear>;

  constructor(options: ProductFusionOptions) {
    super(options.inputDims);
    this.outputDim = checkPositive('ProductFusion', 'outputDim', options.outputDim);
    this.projections = this.registerModule(
      'projections',
      modalityProjections(this.modalities, this.inputDims, this.outputDim, generatorFrom(options)),
    );
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { tensors } = this.checkInputs(inputs, masks);
    return {
      fused: scope(() =>
        tensors
          .map((x, i) => this.projections.get(this.modalities[i]!).forward(x))
          .reduce((a: Tensor, b: Tensor) => a.mul(b)),
      ),
    };
  }
}
