import { generatorFrom, kaimingUniform_, type Linear, Module } from '@polymodal/nn';
import {
  ArgumentError,
  dropout,
  type Generator,
  matmul,
  noGrad,
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

/**
 * A `Linear` layer with a low-rank adapter (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large
 * Language Models"): `y = base(x) + (alpha/r) · dropout(x)·Aᵀ·Bᵀ`, with `A ~ kaiming-uniform(a=√5)`
 * and `B = 0` (so the wrapped layer starts out identical to the base). The base weights are
 * frozen; `merge()` folds `(alpha/r)·B·A` into the base weight for inference, `unmerge()` takes it out.
 * Shapes: `x [..., in]` → `[..., out]`.
 *
 * ```ts
 * const lora = new LoraLinear(new Linear(64, 64), { rank: 8, alpha: 16, seed: 0 });
 * lora.forward(randn([2, 64])); // [2, 64]
 * ```
 */
export class LoraLinear extends Module {
  readonly base: Linear;
  readonly rank: number;
  readonly alpha: number;
  readonly scaling: number;
  readonly dropoutP: number;
  loraA: Tensor;
  loraB: Tensor;
  /** Whether `B·A` is currently folded into `base.weight`. */
  merged = false;
  private readonly generator: Generator;

  constructor(base: Linear, options: LoraOptions) {
    super();
    const { rank } = options;
    if (!Number.isInteger(rank) || rank < 1)
      throw new ArgumentError('LoraLinear', `rank must be a positive integer, got ${rank}`);
    if (rank > Math.min(base.inFeatures, base.outFeatures))
      throw new ArgumentError(
        'LoraLinear',
        `rank ${rank} exceeds min(inFeatures, outFeatures) = ${Math.min(base.inFeatures, base.outFeatures)}`,
      );
    const p = options.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new ArgumentError('LoraLinear', `dropout must lie in [0, 1), got ${p}`);
    this.base = this.registerModule('base', base);
    this.rank = rank;
    this.alpha = options.alpha ?? rank;
    this.scaling = this.alpha / rank;
    this.dropoutP = p;
    this.generator = generatorFrom(options);
    this.loraA = this.registerParameter('loraA', zeros([rank, base.inFeatures]))!;
    kaimingUniform_(this.loraA, { generator: this.generator, a: Math.sqrt(5) });
    this.loraB = this.registerParameter('loraB', zeros([base.outFeatures, rank]))!;
    base.freeze();
  }

  forward(x: Tensor): Tensor {
    if (this.merged) return this.base.forward(x);
    return scope(() => {
      const h =
        this.training && this.dropoutP > 0 ? dropout(x, this.dropoutP, { generator: this.generator }) : x;
      const update = matmul(matmul(h, this.loraA.transpose(0, 1)), this.loraB.transpose(0, 1)).mul(
        this.scaling,
      );
      return this.base.forward(x).add(update);
    });
  }

  /** `scaling · B·A`, shape `[out, in]` (the weight delta). */
  deltaWeight(): Tensor {
    return noGrad(() => scope(() => matmul(this.loraB, this.loraA).mul(this.scaling)));
  }

  /** Folds the adapter into `base.weight` (no extra cost at inference). */
  merge(): void {
    if (this.merged) return;
    const w = this.base.weight;
    noGrad(() => scope(() => w.assign(w.add(this.deltaWeight()))));
    this.merged = true;
  }

  /** Takes the adapter back out of `base.weight`. */
  unmerge(): void {
    if (!this.merged) return;
    const w = this.base.weight;
    noGrad(() => scope(() => w.assign(w.sub(this.deltaWeight()))));
    this.merged = false;
  }

  protected override extraRepr(): string {
    return `rank=${this.rank}, alpha=${this.alpha}, dropout=${this.dropoutP}, merged=${this.merged}`;
  }
}
