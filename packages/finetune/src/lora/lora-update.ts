import { generatorFrom, kaimingUniform_, Module } from '@polymodal/nn';
import {
  ArgumentError,
  checkPositiveInt,
  dropout,
  type Generator,
  matmul,
  noGrad,
  pad,
  type RandomOptions,
  scope,
  type Tensor,
  zeros,
} from '@polymodal/tensor';

export interface LoraOptions extends RandomOptions {
  /** Rank r of the update `B·A` (A `[r, in]`, B `[out, r]`). */
  rank: number;
  /** Scaling numerator: the update is multiplied by `alpha / rank` (default = rank, i.e. scale 1). */
  alpha?: number;
  /** Dropout on the adapter's input during training (default 0). */
  dropout?: number;
}

/** Where a LoRA update folds in: `outFeatures` rows of `weight` starting at `rowOffset`. */
export interface LoraMergeTarget {
  weight: Tensor;
  rowOffset: number;
}

/**
 * The low-rank update of LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language
 * Models") for one linear projection `[in] → [out]`: `Δy = (alpha/r) · dropout(x)·Aᵀ·Bᵀ`, with
 * `A [r, in] ~ kaiming-uniform(a=√5)` and `B [out, r] = 0` (PEFT's init, so training starts from
 * the base model), and merging `(alpha/r)·B·A` into the rows of the base weight it adapts. Shared
 * by `LoraLinear` (a whole `Linear`) and `LoraProjection` (a slice of a packed projection).
 *
 * ```ts
 * class MyAdapter extends LoraUpdate { protected mergeTarget() { return { weight: w, rowOffset: 0 }; } … }
 * ```
 */
export abstract class LoraUpdate extends Module {
  readonly rank: number;
  readonly alpha: number;
  readonly scaling: number;
  readonly dropoutP: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  loraA: Tensor;
  loraB: Tensor;
  /** Whether `B·A` is currently folded into the base weight. */
  merged = false;
  protected readonly generator: Generator;

  constructor(op: string, inFeatures: number, outFeatures: number, options: LoraOptions) {
    super();
    const { rank } = options;
    checkPositiveInt(op, 'rank', rank);
    if (rank > Math.min(inFeatures, outFeatures))
      throw new ArgumentError(
        op,
        `rank ${rank} exceeds min(inFeatures, outFeatures) = ${Math.min(inFeatures, outFeatures)}`,
      );
    const p = options.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new ArgumentError(op, `dropout must lie in [0, 1), got ${p}`);
    this.rank = rank;
    this.alpha = options.alpha ?? rank;
    this.scaling = this.alpha / rank;
    this.dropoutP = p;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.generator = generatorFrom(options);
    this.loraA = this.registerParameter('loraA', zeros([rank, inFeatures]))!;
    kaimingUniform_(this.loraA, { generator: this.generator, a: Math.sqrt(5) });
    this.loraB = this.registerParameter('loraB', zeros([outFeatures, rank]))!;
  }

  /** The parameter rows this update folds into. */
  protected abstract mergeTarget(): LoraMergeTarget;

  /** `(alpha/r) · dropout(x)·Aᵀ·Bᵀ`: `[..., in]` → `[..., out]` (the update alone). */
  protected update(x: Tensor): Tensor {
    return scope(() => {
      const h =
        this.training && this.dropoutP > 0 ? dropout(x, this.dropoutP, { generator: this.generator }) : x;
      return matmul(matmul(h, this.loraA.transpose(0, 1)), this.loraB.transpose(0, 1)).mul(this.scaling);
    });
  }

  /** `scaling · B·A`, shape `[out, in]` (the weight delta). */
  deltaWeight(): Tensor {
    return noGrad(() => scope(() => matmul(this.loraB, this.loraA).mul(this.scaling)));
  }

  /** Folds the update into the base weight's rows (no extra cost at inference). */
  merge(): void {
    if (this.merged) return;
    this.addToTarget(1);
    this.merged = true;
  }

  /** Takes the update back out of the base weight. */
  unmerge(): void {
    if (!this.merged) return;
    this.addToTarget(-1);
    this.merged = false;
  }

  private addToTarget(sign: 1 | -1): void {
    const { weight: w, rowOffset } = this.mergeTarget();
    noGrad(() =>
      scope(() => {
        const delta = this.deltaWeight().mul(sign);
        const rows = w.shape[0]!;
        const full =
          rowOffset === 0 && rows === this.outFeatures
            ? delta
            : pad(delta, [0, 0, rowOffset, rows - rowOffset - this.outFeatures]);
        w.assign(w.add(full));
      }),
    );
  }

  protected override extraRepr(): string {
    return `rank=${this.rank}, alpha=${this.alpha}, dropout=${this.dropoutP}, merged=${this.merged}`;
  }
}
