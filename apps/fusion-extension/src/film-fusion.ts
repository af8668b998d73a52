import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from '@polymodal/fusion';
import { generatorFrom, Linear } from '@polymodal/nn';
import { ArgumentError, scope } from '@polymodal/tensor';

export interface FiLMFusionOptions extends FusionBaseOptions {
  /** The modality whose features are modulated; the other one conditions it. */
  target: string;
  /** Width of the modulated features and of `fused`. */
  outputDim: number;
}

/**
 * FiLM conditioning as a fusion strategy (Perez et al. 2018, "FiLM: Visual Reasoning with a General
 * Conditioning Layer"), written outside `@polymodal/fusion` against its public API only. One
 * modality (`target`, e.g. the image) is projected, `h = W x + b`, and the other (the condition,
 * e.g. the question) produces a per-feature scale and shift, `[γ; β] = W_c c + b_c`:
 * `fused = γ ⊙ h + β`. Exactly two modalities, pooled `[B, D_m]` → `[B, outputDim]`.
 * Parameters `(D_target + 1)·o + (D_cond + 1)·2o`.
 *
 * ```ts
 * const film = new FiLMFusion({ inputDims: { image: 512, text: 768 }, target: 'image', outputDim: 128, seed: 0 });
 * film.forward({ image, text }).fused; // [B, 128]
 * ```
 */
export class FiLMFusion extends FusionModule {
  readonly inputKind = 'pooled';
  readonly outputDim: number;
  readonly target: string;
  readonly condition: string;
  readonly projection: Linear;
  readonly film: Linear;

  constructor(options: FiLMFusionOptions) {
    super(options.inputDims, { minModalities: 2, maxModalities: 2 });
    if (!this.modalities.includes(options.target)) {
      throw new ArgumentError(
        'FiLMFusion',
        `target '${options.target}' must be one of the modalities {${this.modalities.join(', ')}}`,
      );
    }
    if (!Number.isInteger(options.outputDim) || options.outputDim <= 0) {
      throw new ArgumentError('FiLMFusion', `outputDim must be a positive integer, got ${options.outputDim}`);
    }
    this.target = options.target;
    this.condition = this.modalities.find((m) => m !== options.target)!;
    this.outputDim = options.outputDim;
    const generator = generatorFrom(options);
    this.projection = this.registerModule(
      'projection',
      new Linear(this.inputDims[this.target]!, this.outputDim, { generator }),
    );
    this.film = this.registerModule(
      'film',
      new Linear(this.inputDims[this.condition]!, 2 * this.outputDim, { generator }),
    );
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    // The base class validates modalities, widths, batch sizes and masks (FusionInputError).
    const { tensors } = this.checkInputs(inputs, masks);
    const x = tensors[this.modalities.indexOf(this.target)]!;
    const c = tensors[this.modalities.indexOf(this.condition)]!;
    return scope(() => {
      const [gamma, beta] = this.film.forward(c).chunk(2, -1) as [typeof c, typeof c];
      return { fused: gamma.mul(this.projection.forward(x)).add(beta) };
    });
  }
}
