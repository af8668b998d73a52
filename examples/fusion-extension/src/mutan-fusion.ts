import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
  pooled,
} from '@polymodal/fusion';
import { generatorFrom, Linear, ModuleDict } from '@polymodal/nn';
import { checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';

export interface MutanFusionOptions extends FusionBaseOptions {
  /** Width of each modality's Tucker factor space (t_q = t_v). Default 32. */
  hiddenDim?: number;
  /** Rank R of the core tensor's decomposition. Default 5. */
  rank?: number;
  /** Width of the core's output space (t_o) and of `fused`. */
  outputDim: number;
}

/**
 * MUTAN-lite (Ben-younes et al. 2017, "MUTAN: Multimodal Tucker Fusion for Visual Question
 * Answering"), written outside `@polymodal/fusion` against its public API only: the bilinear
 * interaction of two modalities as a Tucker decomposition. Each modality goes to its factor space,
 * `x̃_m = tanh(W_m x_m)` (width t); the core tensor `T_c [t, t, t_o]` is constrained to rank R, so
 * the interaction is a sum of R Hadamard products of linear maps of the two factors, followed by
 * the output factor matrix:
 *
 *   z = Σ_{r=1..R} (W^r_a x̃_a) ⊙ (W^r_b x̃_b),   fused = W_o z
 *
 * Unlike the built-in `bilinear` (MFB/MLB: projections of the raw inputs multiplied and sum-pooled),
 * the product acts on tanh-squashed factor spaces and is read out by a learned output factor.
 * Exactly two modalities, pooled `[B, D_m]` (a `[B, L, D_m]` sequence is mean-pooled over its real
 * tokens) → `[B, outputDim]`. Parameters `Σ_m (D_m + 1)·t + 2·(t + 1)·R·o + (o + 1)·o`.
 *
 * ```ts
 * const mutan = new MutanFusion({ inputDims: { image: 512, text: 768 }, hiddenDim: 64, rank: 5, outputDim: 128, seed: 0 });
 * mutan.forward({ image, text }).fused; // [B, 128]
 * ```
 */
export class MutanFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly rank: number;
  /** Per modality: its factor matrix `W_m` (into the t-wide factor space). */
  readonly factors: ModuleDict<Linear>;
  /** Per modality: the R maps of the rank-R core, stacked `[t → R·o]`. */
  readonly core: ModuleDict<Linear>;
  readonly output: Linear;

  constructor(options: MutanFusionOptions) {
    // The base class checks the widths and that there are exactly two modalities.
    super(options.inputDims, { minModalities: 2, maxModalities: 2 });
    const t = checkPositiveInt('MutanFusion', 'hiddenDim', options.hiddenDim ?? 32);
    this.rank = checkPositiveInt('MutanFusion', 'rank', options.rank ?? 5);
    this.outputDim = checkPositiveInt('MutanFusion', 'outputDim', options.outputDim);
    const generator = generatorFrom(options);
    const perModality = (make: (m: string) => Linear) =>
      new ModuleDict(Object.fromEntries(this.modalities.map((m) => [m, make(m)])));
    this.factors = this.registerModule(
      'factors',
      perModality((m) => new Linear(this.inputDims[m]!, t, { generator })),
    );
    this.core = this.registerModule(
      'core',
      perModality(() => new Linear(t, this.rank * this.outputDim, { generator })),
    );
    this.output = this.registerModule('output', new Linear(this.outputDim, this.outputDim, { generator }));
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    // The base class validates modalities, widths, ranks, batch sizes and masks (FusionInputError).
    const { batch, tensors, masks: checked } = this.checkInputs(inputs, masks);
    return scope(() => {
      const [a, b] = tensors.map((x, i) => {
        const m = this.modalities[i]!;
        const factor = this.factors
          .get(m)
          .forward(pooled(x, checked[i] ?? null))
          .tanh();
        return this.core.get(m).forward(factor).reshape(batch, this.rank, this.outputDim);
      }) as [Tensor, Tensor];
      return { fused: this.output.forward(a.mul(b).sum(1)) };
    });
  }
}
