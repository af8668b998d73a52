import { LearnedPositionalEmbedding, type TransformerEncoder } from '@polymodal/attention';
import { generatorFrom, type Linear, ModuleDict, truncNormal_ } from '@polymodal/nn';
import { ArgumentError, cat, checkPositiveInt, scope, type Tensor, zeros } from '@polymodal/tensor';
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

export interface EarlyFusionOptions extends FusionBaseOptions, TransformerFusionOptions {
  /** `'cls'`: a learned token is prepended and its output is `fused` (ViLT); `'mean'`: masked mean. Default `'cls'`. */
  pooling?: 'cls' | 'mean';
  /** Add learned positional embeddings per modality, for sequences up to this length. Default: none. */
  maxPositions?: number;
}

/**
 * Early (single-stream) fusion, as ViLT (Kim et al. 2021) and VisualBERT (Li et al. 2019): every
 * modality's token or patch embeddings are projected to `dModel`, tagged with a learned
 * **modality-type embedding** (and optionally a learned position embedding per modality), joined
 * into one sequence behind an optional `[CLS]` token, and run through one shared pre-norm
 * Transformer encoder. Inputs `[B, L_m, D_m]` (a `[B, D_m]` input is one token), masks true = real.
 * Output: `sequence [B, 1 + ΣL_m, dModel]` (without the 1 for mean pooling), its `mask`, and
 * `fused [B, dModel]` (the `[CLS]` output or the masked mean). Parameters
 * `Σ_m (D_m + 1)·d + M·d + layers·(4d² + 2d·ff + O(d))`; FLOPs per layer `O(B·(L²d + L·d·ff))`,
 * `L = ΣL_m (+1)` — quadratic in the joint length, the cost of fusing at the input.
 *
 * ```ts
 * const vilt = new EarlyFusion({ inputDims: { image: 768, text: 768 }, dModel: 64, numLayers: 2, seed: 0 });
 * const { fused, sequence } = vilt.forward({ image: patches, text: tokens }, { text: textMask });
 * ```
 */
export class EarlyFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly pooling: 'cls' | 'mean';
  readonly config: ResolvedTransformerOptions;
  readonly projections: ModuleDict<Linear>;
  /** `[M, dModel]`, row m = the type embedding of the m-th modality in sorted order. */
  readonly modalityEmbeddings: Tensor;
  readonly positionEmbeddings: ModuleDict<LearnedPositionalEmbedding> | null;
  readonly clsToken: Tensor | null;
  readonly encoder: TransformerEncoder;

  constructor(options: EarlyFusionOptions) {
    super(options.inputDims);
    this.config = resolveTransformerOptions('EarlyFusion', options);
    const d = this.config.dModel;
    this.outputDim = d;
    this.pooling = options.pooling ?? 'cls';
    if (this.pooling !== 'cls' && this.pooling !== 'mean') {
      throw new ArgumentError('EarlyFusion', `pooling must be 'cls' or 'mean', got '${this.pooling}'`);
    }
    const generator = generatorFrom(options);
    this.projections = this.registerModule(
      'projections',
      modalityProjections(this.modalities, this.inputDims, d, generator),
    );
    // BERT/ViLT initialise token-type embeddings N(0, 0.02²).
    this.modalityEmbeddings = this.registerParameter(
      'modality_embeddings',
      zeros([this.modalities.length, d]),
    )!;
    truncNormal_(this.modalityEmbeddings, 0, 0.02, -0.04, 0.04, { generator });
    if (options.maxPositions !== undefined) {
      const max = checkPositiveInt('EarlyFusion', 'maxPositions', options.maxPositions);
      this.positionEmbeddings = this.registerModule(
        'position_embeddings',
        new ModuleDict(
          Object.fromEntries(
            this.modalities.map((m) => [m, new LearnedPositionalEmbedding(max, d, { generator })]),
          ),
        ),
      );
    } else this.positionEmbeddings = null;
    if (this.pooling === 'cls') {
      this.clsToken = this.registerParameter('cls_token', zeros([1, 1, d]))!;
      truncNormal_(this.clsToken, 0, 0.02, -0.04, 0.04, { generator });
    } else this.clsToken = null;
    this.encoder = this.registerModule('encoder', buildEncoder(this.config, generator));
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { batch, tensors, masks: checked } = this.checkInputs(inputs, masks);
    if (this.positionEmbeddings) {
      tensors.forEach((x, i) => {
        const max = this.positionEmbeddings!.get(this.modalities[i]!).maxLength;
        if (x.shape.length === 3 && x.shape[1]! > max) {
          throw new ArgumentError(
            'EarlyFusion.forward',
            `input '${this.modalities[i]}' has ${x.shape[1]} tokens, more than maxPositions ${max}`,
          );
        }
      });
    }
    return scope(() => {
      const d = this.config.dModel;
      const parts = tensors.map((x, i) => {
        const name = this.modalities[i]!;
        const tokens = x.shape.length === 2 ? x.unsqueeze(1) : x;
        let h = this.projections
          .get(name)
          .forward(tokens)
          .add(this.modalityEmbeddings.narrow(0, i, 1));
        if (this.positionEmbeddings) h = this.positionEmbeddings.get(name).forward(h);
        return h;
      });
      const partMasks = [...checked];
      if (this.clsToken) {
        parts.unshift(this.clsToken.expand(batch, 1, d));
        partMasks.unshift(null);
      }
      const joinedMask = joinMasks(partMasks, parts);
      const sequence = this.encoder.forward(cat(parts, 1), { srcKeyPaddingMask: toPaddingMask(joinedMask) });
      const fused = this.clsToken ? sequence.narrow(1, 0, 1).squeeze(1) : maskedMean(sequence, joinedMask);
      return joinedMask ? { fused, sequence, mask: joinedMask } : { fused, sequence };
    });
  }
}
