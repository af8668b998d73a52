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

export interface GatedFusionOptions extends FusionBaseOptions {
  /** Width of the fused vector (GMU's hidden size). */
  outputDim: number;
}

/**
 * Gated Multimodal Unit (Arevalo et al. 2017, "Gated Multimodal Units for Information Fusion"):
 * each modality becomes a candidate `h_m = tanh(W_m x_m)`, and a gate computed from all inputs,
 * `z = softmax_m(W_z·[x₁; …; x_M])` (per hidden unit, over modalities), mixes them:
 * `fused = Σ_m z_m ⊙ h_m`. With two modalities this is exactly the bimodal GMU
 * `z ⊙ h₁ + (1 − z) ⊙ h₂` with `z = σ(·)` (a two-way softmax is a sigmoid of the difference).
 * Inputs `[B, D_m]` → `[B, outputDim]`; `weights` are the gates `[B, M, outputDim]`.
 * Parameters `Σ_m (D_m + 1)·H + (ΣD_m + 1)·M·H` with `H = outputDim`.
 *
 * ```ts
 * const gmu = new GatedFusion({ inputDims: { image: 512, text: 768 }, outputDim: 256, seed: 0 });
 * const { fused, weights } = gmu.forward({ image, text }); // [B, 256], [B, 2, 256]
 * ```
 */
export class GatedFusion extends FusionModule {
  readonly inputKind = 'pooled';
  readonly outputDim: number;
  readonly projections: ModuleDict<Linear>;
  readonly gate: Linear;

  constructor(options: GatedFusionOptions) {
    super(options.inputDims, { minModalities: 2 });
    this.outputDim = checkPositiveInt('GatedFusion', 'outputDim', options.outputDim);
    const generator = generatorFrom(options);
    this.projections = this.registerModule(
      'projections',
      modalityProjections(this.modalities, this.inputDims, this.outputDim, generator),
    );
    const total = this.modalities.reduce((s, m) => s + this.inputDims[m]!, 0);
    this.gate = this.registerModule(
      'gate',
      new Linear(total, this.modalities.length * this.outputDim, { generator }),
    );
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { batch, tensors } = this.checkInputs(inputs, masks);
    return scope(() => {
      const candidates = stack(
        tensors.map((x, i) => this.projections.get(this.modalities[i]!).forward(x).tanh()),
        1,
      ); // [B, M, H]
      const gates = this.gate
        .forward(cat(tensors, -1))
        .reshape(batch, this.modalities.length, this.outputDim)
        .softmax(1);
      const fused = gates.mul(candidates).sum(1);
      return { fused, weights: gates };
    });
  }
}
