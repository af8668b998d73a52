import { generatorFrom, Linear } from '@polymodal/nn';
import { cat, checkPositiveInt, scope } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';

export interface ConcatFusionOptions extends FusionBaseOptions {
  /** Project the concatenation to this width with a `Linear`; omit to return the raw concatenation (width ΣD). */
  outputDim?: number;
}

/**
 * Feature-level fusion by concatenation (the baseline of every multimodal survey; torchmultimodal
 * `ConcatFusionModule` plus an optional projection): `fused = W·[x₁; …; x_M] + b` over the sorted
 * modalities. Inputs `[B, D_m]` → `[B, outputDim]` (or `[B, ΣD_m]` without projection).
 * Parameters `(ΣD_m + 1)·outputDim`.
 *
 * ```ts
 * const fusion = new ConcatFusion({ inputDims: { image: 512, text: 768 }, outputDim: 256, seed: 0 });
 * fusion.forward({ image, text }).fused; // [B, 256]
 * ```
 */
export class ConcatFusion extends FusionModule {
  readonly inputKind = 'pooled';
  readonly outputDim: number;
  readonly projection: Linear | null;

  constructor(options: ConcatFusionOptions) {
    super(options.inputDims);
    const total = this.modalities.reduce((s, m) => s + this.inputDims[m]!, 0);
    if (options.outputDim === undefined) {
      this.outputDim = total;
      this.projection = null;
    } else {
      this.outputDim = checkPositiveInt('ConcatFusion', 'outputDim', options.outputDim);
      this.projection = this.registerModule(
        'projection',
        new Linear(total, this.outputDim, { generator: generatorFrom(options) }),
      );
    }
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { tensors } = this.checkInputs(inputs, masks);
    return {
      fused: scope(() => {
        const joined = tensors.length === 1 ? tensors[0]!.clone() : cat(tensors, -1);
        return this.projection ? this.projection.forward(joined) : joined;
      }),
    };
  }
}
