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

export interface SumFusionOptions extends FusionBaseOptions {
  /** Common width each modality is projected to. */
  outputDim: number;
}

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
export class SumFusion extends FusionModule {
  readonly inputKind = 'pooled';
  readonly outputDim: number;
  readonly projections: ModuleDict<Linear>;

  constructor(options: SumFusionOptions) {
    super(options.inputDims);
    this.outputDim = checkPositive('SumFusion', 'outputDim', options.outputDim);
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
          .reduce((a: Tensor, b: Tensor) => a.add(b)),
      ),
    };
  }
}
