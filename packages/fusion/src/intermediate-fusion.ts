import { CrossAttentionLayer, TransformerEncoderLayer } from '@polymodal/attention';
import { generatorFrom, LayerNorm, Linear, type Module, ModuleDict, ModuleList } from '@polymodal/nn';
import { ArgumentError, cat, checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { modalityProjections } from './projections.js';
import { maskedMean, toPaddingMask } from './sequence-utils.js';
import {
  type ResolvedTransformerOptions,
  resolveTransformerOptions,
  type TransformerFusionOptions,
} from './transformer-options.js';

export interface IntermediateFusionOptions extends FusionBaseOptions, TransformerFusionOptions {
  /** Layers (0-based) where the two streams cross-attend to each other. Default `[⌊numLayers/2⌋]`. */
  crossLayers?: number[];
  /** Width of `fused`. Default `dModel`. */
  outputDim?: number;
}

/**
 * Intermediate (two-stream, co-attention) fusion, as ViLBERT (Lu et al. 2019) and ALBEF's fusion
 * layers (Li et al. 2021): exactly two modalities, each projected to `dModel` and run through its
 * own stack of Transformer layers; at the chosen middle layers (`crossLayers`) each stream's layer
 * is a `CrossAttentionLayer` (self-attention, then cross-attention to the other stream's states
 * from the previous layer, then FFN — ViLBERT's co-attentional block), elsewhere a plain pre-norm
 * `TransformerEncoderLayer`. `fused = W·[pool(h_a); pool(h_b)]` (masked means of the final states);
 * `features` holds each stream's final sequence `[B, L_m, dModel]`. Inputs `[B, L_m, D_m]` (a
 * `[B, D_m]` input is one token), masks true = real. Parameters
 * `Σ_m (D_m + 1)·d + 2·(layers·(4d² + 2d·ff) + |crossLayers|·4d²) + (2d + 1)·o (+ O(d))`;
 * FLOPs per layer `O(B·(L_m²d + L_a·L_b·d + L_m·d·ff))`.
 *
 * ```ts
 * const vilbert = new IntermediateFusion({ inputDims: { image: 768, text: 512 }, dModel: 64, numLayers: 3, crossLayers: [1], seed: 0 });
 * const { fused, features } = vilbert.forward({ image: regions, text: tokens }, { text: textMask });
 * ```
 */
export class IntermediateFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly config: ResolvedTransformerOptions;
  readonly crossLayers: readonly number[];
  readonly projections: ModuleDict<Linear>;
  readonly streams: ModuleDict<ModuleList>;
  readonly norms: ModuleDict<LayerNorm>;
  readonly head: Linear;

  constructor(options: IntermediateFusionOptions) {
    super(options.inputDims, { minModalities: 2, maxModalities: 2 });
    const c = resolveTransformerOptions('IntermediateFusion', options);
    this.config = c;
    const crossLayers = [...new Set(options.crossLayers ?? [Math.floor(c.numLayers / 2)])].sort(
      (a, b) => a - b,
    );
    if (!crossLayers.length || crossLayers.some((i) => !Number.isInteger(i) || i < 0 || i >= c.numLayers)) {
      throw new ArgumentError(
        'IntermediateFusion',
        `crossLayers must be a non-empty list of layer indices in [0, ${c.numLayers}), got [${options.crossLayers}]`,
      );
    }
    this.crossLayers = crossLayers;
    this.outputDim = checkPositiveInt('IntermediateFusion', 'outputDim', options.outputDim ?? c.dModel);
    const generator = generatorFrom(options);
    const d = c.dModel;
    const layerOptions = {
      dimFeedforward: c.dimFeedforward,
      dropout: c.dropout,
      activation: c.activation,
      normFirst: true,
      generator,
    };
    this.projections = this.registerModule(
      'projections',
      modalityProjections(this.modalities, this.inputDims, d, generator),
    );
    this.streams = this.registerModule(
      'streams',
      new ModuleDict(
        Object.fromEntries(
          this.modalities.map((m) => [
            m,
            new ModuleList<Module>(
              Array.from({ length: c.numLayers }, (_, i) =>
                crossLayers.includes(i)
                  ? new CrossAttentionLayer(d, d, c.numHeads, layerOptions)
                  : new TransformerEncoderLayer(d, c.numHeads, layerOptions),
              ),
            ),
          ]),
        ),
      ),
    );
    this.norms = this.registerModule(
      'norms',
      new ModuleDict(Object.fromEntries(this.modalities.map((m) => [m, new LayerNorm(d)]))),
    );
    this.head = this.registerModule('head', new Linear(2 * d, this.outputDim, { generator }));
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { tensors, masks: checked } = this.checkInputs(inputs, masks);
    const [a, b] = this.modalities as [string, string];
    return scope(() => {
      let [ha, hb] = tensors.map((x, i) =>
        this.projections.get(this.modalities[i]!).forward(x.shape.length === 2 ? x.unsqueeze(1) : x),
      ) as [Tensor, Tensor];
      const [maskA, maskB] = [checked[0] ?? null, checked[1] ?? null];
      const [padA, padB] = [toPaddingMask(maskA), toPaddingMask(maskB)];
      const layersA = this.streams.get(a);
      const layersB = this.streams.get(b);
      for (let i = 0; i < this.config.numLayers; i++) {
        const la = layersA.at(i);
        const lb = layersB.at(i);
        if (la instanceof CrossAttentionLayer && lb instanceof CrossAttentionLayer) {
          // Co-attention: both streams read the other's states from before this layer.
          const nextA = la.forward(ha, hb, { keyPaddingMask: padA, contextPaddingMask: padB });
          const nextB = lb.forward(hb, ha, { keyPaddingMask: padB, contextPaddingMask: padA });
          [ha, hb] = [nextA, nextB];
        } else {
          ha = (la as TransformerEncoderLayer).forward(ha, { srcKeyPaddingMask: padA });
          hb = (lb as TransformerEncoderLayer).forward(hb, { srcKeyPaddingMask: padB });
        }
      }
      const sa = this.norms.get(a).forward(ha);
      const sb = this.norms.get(b).forward(hb);
      const fused = this.head.forward(cat([maskedMean(sa, maskA), maskedMean(sb, maskB)], -1));
      return { fused, features: { [a]: sa, [b]: sb } };
    });
  }
}
