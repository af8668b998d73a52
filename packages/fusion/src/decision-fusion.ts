import { generatorFrom, MLP, type Module, ModuleDict } from '@polymodal/nn';
import { ArgumentError, checkPositiveInt, full, scope, stack, type Tensor, zeros } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { pooled } from './sequence-utils.js';

/** How per-modality decisions are combined. */
export type DecisionCombine = 'mean' | 'weighted' | 'productOfExperts';

export interface DecisionFusionOptions extends FusionBaseOptions {
  /** Classes each head predicts; `fused` is `[B, numClasses]` log-probabilities. */
  numClasses: number;
  /** `'mean'` (average of probabilities), `'weighted'` (learned softmax weights) or `'productOfExperts'`. Default `'mean'`. */
  combine?: DecisionCombine;
  /** Hidden width of the default heads `MLP(D_m, [h, numClasses])`. Default 32. */
  hiddenDim?: number;
  /** Your own per-modality heads (pooled `[B, D_m]` → logits `[B, numClasses]`). */
  heads?: Record<string, Module>;
}

const COMBINES: readonly DecisionCombine[] = ['mean', 'weighted', 'productOfExperts'];

/**
 * Decision-level (late, "ensemble") fusion (Xu et al. survey §2.4; Snoek et al. 2005 "Early versus
 * late fusion"; product of experts, Hinton 2002): each modality gets its own classifier head on its
 * pooled features, and only the **decisions** are combined:
 * - `mean`: `p = (1/M) Σ_m softmax(d_m)`;
 * - `weighted`: `p = Σ_m w_m softmax(d_m)` with learned `w = softmax(θ)`, `θ ∈ ℝ^M` (starts uniform);
 * - `productOfExperts`: `p ∝ Π_m softmax(d_m)`, i.e. a sum of log-probabilities, renormalised.
 * `fused` is `log p` `[B, numClasses]` (normalised, so `crossEntropy(fused, labels)` is the NLL),
 * `decisions` each head's logits, `weights` the modality weights `[M]` (mean and weighted).
 * Because modalities only meet after each has decided, this cannot model interactions between them
 * (an XOR of one bit per modality stays at chance); it fuses redundant evidence.
 * Parameters (default heads) `Σ_m ((D_m + 1)·h + (h + 1)·C)` (+ M for `weighted`).
 *
 * ```ts
 * const fusion = new DecisionFusion({ inputDims: { image: 512, text: 768 }, numClasses: 10, combine: 'weighted', seed: 0 });
 * const { fused, decisions, weights } = fusion.forward({ image, text }); // [B, 10], {image, text: [B, 10]}, [2]
 * ```
 */
export class DecisionFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly combine: DecisionCombine;
  readonly heads: ModuleDict;
  /** `weighted` only: `θ [M]`, the logits of the modality weights. */
  readonly modalityLogits: Tensor | null;

  constructor(options: DecisionFusionOptions) {
    super(options.inputDims);
    this.outputDim = checkPositiveInt('DecisionFusion', 'numClasses', options.numClasses);
    this.combine = options.combine ?? 'mean';
    if (!COMBINES.includes(this.combine)) {
      throw new ArgumentError(
        'DecisionFusion',
        `combine must be one of ${COMBINES.join(', ')}, got '${this.combine}'`,
      );
    }
    const generator = generatorFrom(options);
    if (options.heads) {
      const names = Object.keys(options.heads).sort();
      if (names.join('\u0000') !== this.modalities.join('\u0000')) {
        throw new ArgumentError(
          'DecisionFusion',
          `heads must cover exactly the modalities {${this.modalities.join(', ')}}, got {${names.join(', ')}}`,
        );
      }
      this.heads = this.registerModule('heads', new ModuleDict(options.heads));
    } else {
      const h = checkPositiveInt('DecisionFusion', 'hiddenDim', options.hiddenDim ?? 32);
      this.heads = this.registerModule(
        'heads',
        new ModuleDict(
          Object.fromEntries(
            this.modalities.map((m) => [m, new MLP(this.inputDims[m]!, [h, this.outputDim], { generator })]),
          ),
        ),
      );
    }
    this.modalityLogits =
      this.combine === 'weighted'
        ? this.registerParameter('modality_logits', zeros([this.modalities.length]))
        : null;
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { batch, tensors, masks: checked } = this.checkInputs(inputs, masks);
    return scope(() => {
      const decisions: Record<string, Tensor> = {};
      const logProbs = tensors.map((x, i) => {
        const name = this.modalities[i]!;
        const logits = this.heads.get(name).forward(pooled(x, checked[i] ?? null)) as Tensor;
        if (logits.shape.length !== 2 || logits.shape[0] !== batch || logits.shape[1] !== this.outputDim) {
          throw new ArgumentError(
            'DecisionFusion.forward',
            `head '${name}' must return [${batch}, ${this.outputDim}] logits, got [${logits.shape.join(', ')}]`,
          );
        }
        decisions[name] = logits;
        return logits.logSoftmax(-1);
      });
      const stacked = stack(logProbs, 0); // [M, B, C]
      const m = this.modalities.length;
      if (this.combine === 'productOfExperts') {
        return { fused: stacked.sum(0).logSoftmax(-1), decisions };
      }
      // log Σ_m w_m p_m = logSumExp_m(log w_m + log p_m), stable where some p_m underflow.
      const weights = this.modalityLogits ? this.modalityLogits.softmax(-1) : full([m], 1 / m);
      const logWeights = this.modalityLogits ? this.modalityLogits.logSoftmax(-1) : full([m], -Math.log(m));
      const fused = stacked.add(logWeights.reshape(m, 1, 1)).logSumExp(0);
      return { fused, decisions, weights };
    });
  }
}
