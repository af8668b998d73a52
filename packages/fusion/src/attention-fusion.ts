import { generatorFrom, Linear, type ModuleDict } from '@polymodal/nn';
import { cat, checkPositiveInt, scope, stack } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { modalityProjections } from './projections.js';

export interface AttentionFusionOptions extends FusionBaseOptions {
  /** Width every modality is projected to (torchmultimodal's `fusion_dim`). Default: the smallest input width. */
  outputDim?: number;
}

/**
 * Attention over modalities, as torchmultimodal's `AttentionFusionModule`: softmax weights over the
 * modalities are computed from all inputs, `w = softmax(W_a·[x₁; …; x_M] + b_a)` (`[B, M]`), each
 * modality is projected to a common width, and `fused = Σ_m w_m · (P_m x_m + c_m)`. The weights come
 * back as `weights [B, M]` (sorted modality order) for inspection. Inputs `[B, D_m]` →
 * `[B, outputDim]`. Parameters `(ΣD_m + 1)·M + Σ_m (D_m + 1)·outputDim`.
 *
 * ```ts
 * const fusion = new AttentionFusion({ inputDims: { image: 512, text: 768 }, outputDim: 256, seed: 0 });
 * const { fused, weights } = fusion.forward({ image, text }); // [B, 256], [B, 2] (rows sum to 1)
 * ```
 */
export class AttentionFusion extends FusionModule {
  readonly inputKind = 'pooled';
  readonly outputDim: number;
  readonly attention: Linear;
  readonly projections: ModuleDict<Linear>;

  constructor(options: AttentionFusionOptions) {
    super(options.inputDims);
    this.outputDim = checkPositiveInt(
      'AttentionFusion',
      'outputDim',
      options.outputDim ?? Math.min(...this.modalities.map((m) => this.inputDims[m]!)),
    );
    const generator = generatorFrom(options);
    const total = this.modalities.reduce((s, m) => s + this.inputDims[m]!, 0);
    this.attention = this.registerModule(
      'attention',
      new Linear(total, this.modalities.length, { generator }),
    );
    this.projections = this.registerModule(
      'projections',
      modalityProjections(this.modalities, this.inputDims, this.outputDim, generator),
    );
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { tensors } = this.checkInputs(inputs, masks);
    return scope(() => {
      const weights = this.attention.forward(cat(tensors, -1)).softmax(-1); // [B, M]
      const projected = stack(
        tensors.map((x, i) => this.projections.get(this.modalities[i]!).forward(x)),
        -1,
      ); // [B, F, M]
      return { fused: projected.mul(weights.unsqueeze(1)).sum(-1), weights };
    });
  }
}
