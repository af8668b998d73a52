import type { TransformerEncoder } from '@polymodal/attention';
import { generatorFrom, type Linear, type ModuleDict } from '@polymodal/nn';
import { cat, scope } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { modalityProjections } from './projections.js';
import { joinMasks, maskedMean, toPaddingMask } from './sequence-utils.js';
import {
  buildEncoder,
  type ResolvedTransformerOptions,
  resolveTransformerOptions,
  type TransformerFusionOptions,
} from './transformer-options.js';

export interface SelfAttentionFusionOptions extends FusionBaseOptions, TransformerFusionOptions {}

/**
 * Self-attention fusion ("merged attention", as in METER's merged-attention fusion, Dou et al. 2022,
 * and the joint Transformer of Xu et al. 2023's survey §2.1): each modality's sequence is projected
 * to `dModel` by its own linear map, the sequences are concatenated along the token axis, and a
 * Transformer encoder lets every token attend to every token of every modality; `fused` is the
 * masked mean of its output. Unlike `EarlyFusion` there is no `[CLS]` token and no type or
 * position embedding (the per-modality projections already tell modalities apart).
 * Inputs `[B, L_m, D_m]` (a `[B, D_m]` input is one token), masks true = real → `fused [B, dModel]`,
 * `sequence [B, ΣL_m, dModel]`. Parameters `Σ_m (D_m + 1)·d + layers·(4d² + 2d·ff + O(d))`;
 * FLOPs per layer `O(B·(L²d + L·d·ff))` with `L = ΣL_m`.
 *
 * ```ts
 * const fusion = new SelfAttentionFusion({ inputDims: { image: 768, text: 512 }, dModel: 64, seed: 0 });
 * fusion.forward({ image: patches, text: tokens }, { text: textMask }).fused; // [B, 64]
 * ```
 */
export class SelfAttentionFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly config: ResolvedTransformerOptions;
  readonly projections: ModuleDict<Linear>;
  readonly encoder: TransformerEncoder;

  constructor(options: SelfAttentionFusionOptions) {
    super(options.inputDims);
    this.config = resolveTransformerOptions('SelfAttentionFusion', options);
    this.outputDim = this.config.dModel;
    const generator = generatorFrom(options);
    this.projections = this.registerModule(
      'projections',
      modalityProjections(this.modalities, this.inputDims, this.config.dModel, generator),
    );
    this.encoder = this.registerModule('encoder', buildEncoder(this.config, generator));
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { tensors, masks: checked } = this.checkInputs(inputs, masks);
    return scope(() => {
      const parts = tensors.map((x, i) =>
        this.projections.get(this.modalities[i]!).forward(x.shape.length === 2 ? x.unsqueeze(1) : x),
      );
      const mask = joinMasks(checked, parts);
      const sequence = this.encoder.forward(cat(parts, 1), { srcKeyPaddingMask: toPaddingMask(mask) });
      const fused = maskedMean(sequence, mask);
      return mask ? { fused, sequence, mask } : { fused, sequence };
    });
  }
}
