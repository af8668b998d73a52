import { CrossModalAttention } from '@polymodal/attention';
import { generatorFrom, LayerNorm, Linear, ModuleDict } from '@polymodal/nn';
import { cat, checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { modalityProjections } from './projections.js';
import { joinMasks, maskedMean, toPaddingMask } from './sequence-utils.js';

export interface HierarchicalFusionOptions extends FusionBaseOptions {
  /** Token width inside the token-level fusion. */
  dModel: number;
  /** Heads of the cross-attention; must divide `dModel`. Default 4. */
  numHeads?: number;
  /** Width of each level's output and of `fused`. Default `dModel`. */
  outputDim?: number;
  /** Attention dropout (training only). Default 0. */
  dropout?: number;
}

/**
 * Hierarchical (multi-level) fusion (Xu et al. survey §2.1; the token- plus global-level fusion of
 * e.g. HiT/"hierarchical fusion" VQA models): modalities are fused at two levels whose outputs are
 * combined.
 * 1. **Token level**: each modality's tokens (projected to `dModel`) cross-attend to the tokens of
 *    all other modalities (`CrossModalAttention`, residual + LayerNorm), are mean-pooled over real
 *    tokens, concatenated and projected: `token = W_t·[pool(h_1); …; pool(h_M)]`.
 * 2. **Pooled level**: the raw inputs are mean-pooled, concatenated and projected:
 *    `pooled = W_p·[pool(x_1); …; pool(x_M)]`.
 * 3. `fused = W_f·[token; pooled]`; both levels are returned in `levels`.
 * Inputs `[B, L_m, D_m]` (a `[B, D_m]` input is one token), masks true = real → `[B, outputDim]`.
 * Parameters `Σ_m (D_m + 1)·d + M·(4d² + 6d) + (M·d + 1)·o + (ΣD_m + 1)·o + (2o + 1)·o`;
 * FLOPs `O(B·Σ_m L_m·(L − L_m)·d)` for the cross-attention, `L = ΣL_m`.
 *
 * ```ts
 * const fusion = new HierarchicalFusion({ inputDims: { image: 768, text: 512 }, dModel: 64, seed: 0 });
 * const { fused, levels } = fusion.forward({ image: patches, text: tokens }); // [B, 64], { token, pooled }
 * ```
 */
export class HierarchicalFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly dModel: number;
  readonly projections: ModuleDict<Linear>;
  readonly crossAttention: ModuleDict<CrossModalAttention>;
  readonly norms: ModuleDict<LayerNorm>;
  readonly tokenHead: Linear;
  readonly pooledHead: Linear;
  readonly combine: Linear;

  constructor(options: HierarchicalFusionOptions) {
    super(options.inputDims, { minModalities: 2 });
    const d = checkPositiveInt('HierarchicalFusion', 'dModel', options.dModel);
    const numHeads = checkPositiveInt('HierarchicalFusion', 'numHeads', options.numHeads ?? 4);
    this.dModel = d;
    this.outputDim = checkPositiveInt('HierarchicalFusion', 'outputDim', options.outputDim ?? d);
    const generator = generatorFrom(options);
    const m = this.modalities;
    this.projections = this.registerModule(
      'projections',
      modalityProjections(m, this.inputDims, d, generator),
    );
    this.crossAttention = this.registerModule(
      'cross_attention',
      new ModuleDict(
        Object.fromEntries(
          m.map((name) => [
            name,
            new CrossModalAttention(d, d, { numHeads, dropout: options.dropout ?? 0, generator }),
          ]),
        ),
      ),
    );
    this.norms = this.registerModule(
      'norms',
      new ModuleDict(Object.fromEntries(m.map((name) => [name, new LayerNorm(d)]))),
    );
    const total = m.reduce((s, name) => s + this.inputDims[name]!, 0);
    this.tokenHead = this.registerModule(
      'token_head',
      new Linear(m.length * d, this.outputDim, { generator }),
    );
    this.pooledHead = this.registerModule('pooled_head', new Linear(total, this.outputDim, { generator }));
    this.combine = this.registerModule(
      'combine',
      new Linear(2 * this.outputDim, this.outputDim, { generator }),
    );
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { tensors, masks: checked } = this.checkInputs(inputs, masks);
    return scope(() => {
      const sequences = tensors.map((x) => (x.shape.length === 2 ? x.unsqueeze(1) : x));
      const projected = sequences.map((x, i) => this.projections.get(this.modalities[i]!).forward(x));
      const tokenPooled = this.modalities.map((name, i) => {
        const others = projected.filter((_, j) => j !== i);
        const otherMasks = checked.filter((_, j) => j !== i);
        const context = others.length === 1 ? others[0]! : cat(others, 1);
        const { output } = this.crossAttention.get(name).forward(projected[i]!, context, {
          contextPaddingMask: toPaddingMask(joinMasks(otherMasks, others)),
        });
        const h = this.norms.get(name).forward(projected[i]!.add(output));
        return maskedMean(h, checked[i] ?? null);
      });
      const token = this.tokenHead.forward(cat(tokenPooled, -1));
      const pooledLevel = this.pooledHead.forward(
        cat(
          sequences.map((x, i) => maskedMean(x, checked[i] ?? null)),
          -1,
        ),
      );
      const fused = this.combine.forward(cat([token, pooledLevel], -1));
      const levels: Record<string, Tensor> = { token, pooled: pooledLevel };
      return { fused, levels };
    });
  }
}
