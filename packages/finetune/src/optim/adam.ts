import { ArgumentError, adamStep, type Tensor, zerosLike } from '@polymodal/tensor';
import { stripUndefined } from '../util/strip-undefined.js';
import { type BaseHyperParams, Optimizer, type ParamGroup, type ParamGroupInput } from './optimizer.js';

export interface AdamOptions extends BaseHyperParams {
  betas: [number, number];
  eps: number;
  amsgrad: boolean;
  maximize: boolean;
}

/**
 * Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"), with optional AMSGrad
 * (Reddi et al. 2018) and L2 weight decay added to the gradient, following `torch.optim.Adam`'s
 * single-tensor update order exactly:
 * `g += wd·p; m = lerp(m, g, 1−β1); v = β2·v + (1−β2)·g²; p −= lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps)`.
 *
 * ```ts
 * const opt = new Adam(model.parameters(), { lr: 1e-3, betas: [0.9, 0.999] });
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  protected get name(): string {
    return 'Adam';
  }
  /** AdamW decays the weights directly instead of through the gradient. */
  protected get decoupledWeightDecay(): boolean {
    return false;
  }

  constructor(params: Tensor[] | ParamGroupInput<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
      ...stripUndefined(options),
    });
  }

  protected override validate(group: ParamGroup<AdamOptions>): void {
    super.validate(group);
    const [b1, b2] = group.betas;
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1))
      throw new ArgumentError(this.name, `betas must lie in [0, 1), got [${group.betas}]`);
    if (!(group.eps >= 0)) throw new ArgumentError(this.name, `eps must be ≥ 0, got ${group.eps}`);
  }

  protected updateGroup(group: ParamGroup<AdamOptions>): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    for (const p of group.params) {
      if (!p.grad) continue;
      const s = this.stateOf(p);
      const step = ((s.step as number | undefined) ?? 0) + 1;
      s.step = step;
      if (s.expAvg === undefined) {
        this.setStateTensor(s, 'expAvg', zerosLike(p));
        this.setStateTensor(s, 'expAvgSq', zerosLike(p));
        if (amsgrad) this.setStateTensor(s, 'maxExpAvgSq', zerosLike(p));
      }
      // One fused pass on the CPU backends; the same float32 ops one by one elsewhere.
      adamStep(
        p,
        p.grad,
        {
          expAvg: s.expAvg as Tensor,
          expAvgSq: s.expAvgSq as Tensor,
          maxExpAvgSq: (s.maxExpAvgSq as Tensor | undefined) ?? null,
        },
        {
          lr,
          beta1,
          beta2,
          eps,
          weightDecay,
          decoupledWeightDecay: this.decoupledWeightDecay,
          step,
          amsgrad,
          maximize,
        },
      );
    }
  }
}

/**
 * AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"): Adam whose weight
 * decay multiplies the weights by `1 − lr·wd` before the Adam step, as `torch.optim.AdamW` does.
 * Default weight decay 1e-2 like PyTorch.
 *
 * ```ts
 * const opt = new AdamW(paramGroupsWithWeightDecay(model.namedParameters(), { weightDecay: 0.05 }), { lr: 3e-4 });
 * ```
 */
export class AdamW extends Adam {
  protected override get name(): string {
    return 'AdamW';
  }
  protected override get decoupledWeightDecay(): boolean {
    return true;
  }

  constructor(params: Tensor[] | ParamGroupInput<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...stripUndefined(options) });
  }
}
