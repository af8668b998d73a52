import { generatorFrom, MLP, type Module, ModuleDict } from '@polymodal/nn';
import { ArgumentError, checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';
import { ConcatFusion } from './concat-fusion.js';
import {
  checkInputDims,
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { pooled } from './sequence-utils.js';

export interface LateFusionOptions extends FusionBaseOptions {
  /** Width of `fused` for the default combiner (concatenation + `Linear`). Required unless `combiner` is given. */
  outputDim?: number;
  /** Hidden and output width of the default per-modality encoders `MLP(D_m, [h, h])`. Default 32. */
  hiddenDim?: number;
  /** Your own per-modality encoders (each `forward(x) → [B, E_m]` or `[B, L, E_m]`); give `encoderDims` with them. */
  encoders?: Record<string, Module>;
  /** Output width `E_m` of each injected encoder. */
  encoderDims?: Record<string, number>;
  /** Combines the encoded features; any `FusionModule` whose `inputDims` are the encoder widths. */
  combiner?: FusionModule;
}

/**
 * Late fusion (Xu et al. survey §2.1; the two-tower design of CLIP-style models and classic
 * ensemble fusion): every modality is encoded **separately** by its own encoder (injected, or a
 * default `MLP(D_m, [h, h])`), sequences are mean-pooled over their real tokens, and only the
 * pooled features meet, in a combiner — by default concatenation + `Linear` (`ConcatFusion`), or
 * any other `FusionModule` (e.g. `GatedFusion`). Inputs `[B, D_m]` or `[B, L_m, D_m]` → `fused
 * [B, outputDim]`, `features` = each modality's encoded vector. Parameters (default encoders)
 * `Σ_m ((D_m + 1)·h + (h + 1)·h) + (M·h + 1)·outputDim`.
 *
 * ```ts
 * const late = new LateFusion({ inputDims: { image: 512, text: 768 }, hiddenDim: 128, outputDim: 64, seed: 0 });
 * const { fused, features } = late.forward({ image, text }); // [B, 64], { image: [B, 128], text: [B, 128] }
 * ```
 */
export class LateFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly encoders: ModuleDict;
  readonly combiner: FusionModule;

  constructor(options: LateFusionOptions) {
    super(options.inputDims);
    const generator = generatorFrom(options);
    let encoderDims: Record<string, number>;
    if (options.encoders) {
      const names = Object.keys(options.encoders).sort();
      if (names.join('\u0000') !== this.modalities.join('\u0000')) {
        throw new ArgumentError(
          'LateFusion',
          `encoders must cover exactly the modalities {${this.modalities.join(', ')}}, got {${names.join(', ')}}`,
        );
      }
      if (!options.encoderDims) {
        throw new ArgumentError(
          'LateFusion',
          'encoderDims (the output width of each encoder) is required with encoders',
        );
      }
      checkInputDims('LateFusion.encoderDims', options.encoderDims);
      encoderDims = options.encoderDims;
      this.encoders = this.registerModule('encoders', new ModuleDict(options.encoders));
    } else {
      const h = checkPositiveInt('LateFusion', 'hiddenDim', options.hiddenDim ?? 32);
      encoderDims = Object.fromEntries(this.modalities.map((m) => [m, h]));
      this.encoders = this.registerModule(
        'encoders',
        new ModuleDict(
          Object.fromEntries(
            this.modalities.map((m) => [m, new MLP(this.inputDims[m]!, [h, h], { generator })]),
          ),
        ),
      );
    }
    if (options.combiner) {
      const got = options.combiner.inputDims;
      const fits =
        Object.keys(got).length === this.modalities.length &&
        this.modalities.every((m) => got[m] === encoderDims[m]);
      if (!fits) {
        throw new ArgumentError(
          'LateFusion',
          `combiner inputDims ${JSON.stringify(got)} must equal the encoder widths ${JSON.stringify(encoderDims)}`,
        );
      }
      this.combiner = this.registerModule('combiner', options.combiner);
    } else {
      if (options.outputDim === undefined) {
        throw new ArgumentError(
          'LateFusion',
          'outputDim is required for the default (concatenation) combiner',
        );
      }
      this.combiner = this.registerModule(
        'combiner',
        new ConcatFusion({ inputDims: encoderDims, outputDim: options.outputDim, generator }),
      );
    }
    this.outputDim = this.combiner.outputDim;
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { tensors, masks: checked } = this.checkInputs(inputs, masks);
    return scope(() => {
      const features: Record<string, Tensor> = {};
      tensors.forEach((x, i) => {
        const name = this.modalities[i]!;
        const encoded = this.encoders.get(name).forward(x) as Tensor;
        features[name] = pooled(encoded, encoded.shape.length === 3 ? (checked[i] ?? null) : null);
      });
      return { ...this.combiner.forward(features), features };
    });
  }
}
