import { generatorFrom, type Linear, type ModuleDict } from '@polymodal/nn';
import { checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { modalityProjections } from './projections.js';

export interface BilinearFusionOptions extends FusionBaseOptions {
  /** Width `o` of the fused vector. */
  outputDim: number;
  /** Rank `k` of the factorisation (MFB's factor, MLB is k = 1 plus a projection). Default 4. */
  rank?: number;
  /** MFB's power normalisation `sign(z)·√|z|` then L2 normalisation. Default false. */
  normalize?: boolean;
}

/**
 * Low-rank bilinear pooling: Multi-modal Factorized Bilinear pooling (MFB, Yu et al. 2017), which
 * generalises MLB (Kim et al. 2017, "Hadamard Product for Low-rank Bilinear Pooling"). A full
 * bilinear map `z_i = xᵀ W_i y` is factorised as `W_i = U_i V_iᵀ` of rank k: each modality is
 * projected to `o·k` (`x̃ = Uᵀx`, `ỹ = Vᵀy`), the projections are multiplied elementwise and
 * **sum-pooled** over non-overlapping windows of k, `z = SumPool(x̃ ⊙ ỹ, k)`; optionally
 * `z ← sign(z)√|z|`, `z ← z/‖z‖`. With more than two modalities the product runs over all of them.
 * Inputs `[B, D_m]` → `[B, outputDim]`. Parameters `Σ_m (D_m + 1)·o·k`.
 *
 * ```ts
 * const mfb = new BilinearFusion({ inputDims: { image: 512, text: 768 }, outputDim: 256, rank: 5, seed: 0 });
 * mfb.forward({ image, text }).fused; // [B, 256]
 * ```
 */
export class BilinearFusion extends FusionModule {
  readonly inputKind = 'pooled';
  readonly outputDim: number;
  readonly rank: number;
  readonly normalize: boolean;
  readonly projections: ModuleDict<Linear>;

  constructor(options: BilinearFusionOptions) {
    super(options.inputDims, { minModalities: 2 });
    this.outputDim = checkPositiveInt('BilinearFusion', 'outputDim', options.outputDim);
    this.rank = checkPositiveInt('BilinearFusion', 'rank', options.rank ?? 4);
    this.normalize = options.normalize ?? false;
    this.projections = this.registerModule(
      'projections',
      modalityProjections(
        this.modalities,
        this.inputDims,
        this.outputDim * this.rank,
        generatorFrom(options),
      ),
    );
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { batch, tensors } = this.checkInputs(inputs, masks);
    return {
      fused: scope(() => {
        const product = tensors
          .map((x, i) => this.projections.get(this.modalities[i]!).forward(x))
          .reduce((a: Tensor, b: Tensor) => a.mul(b));
        let z = product.reshape(batch, this.outputDim, this.rank).sum(-1);
        if (this.normalize) {
          z = z.sign().mul(z.abs().add(1e-8).sqrt());
          z = z.div(z.square().sum(-1, true).add(1e-12).sqrt());
        }
        return z;
      }),
    };
  }
}
