import { ArgumentError, type Tensor } from '@polymodal/tensor';
import { stripUndefined } from '../util/strip-undefined.js';
import { type BaseHyperParams, Optimizer, type ParamGroup, type ParamGroupInput } from './optimizer.js';

export interface SGDOptions extends BaseHyperParams {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * Stochastic gradient descent with momentum (Polyak; Nesterov as in Sutskever et al. 2013), in
 * PyTorch's exact form: `g += wd·p; buf = μ·buf + (1−dampening)·g` (buf = g on the first step);
 * `g = nesterov ? g + μ·buf : buf; p −= lr·g`. Defaults equal `torch.optim.SGD`'s (lr 1e-3).
 *
 * ```ts
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * loss.backward(); opt.step(); opt.zeroGrad();
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  protected get name(): string {
    return 'SGD';
  }

  constructor(params: Tensor[] | ParamGroupInput<SGDOptions>[], options: Partial<SGDOptions> = {}) {
    super(params, {
      lr: 1e-3,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      ...stripUndefined(options),
    });
  }

  protected override validate(group: ParamGroup<SGDOptions>): void {
    super.validate(group);
    if (group.momentum < 0) throw new ArgumentError('SGD', `momentum must be ≥ 0, got ${group.momentum}`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0))
      throw new ArgumentError('SGD', 'Nesterov momentum requires momentum > 0 and dampening = 0');
  }

  protected updateGroup(group: ParamGroup<SGDOptions>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const p of group.params) {
      if (!p.grad) continue;
      let g = maximize ? p.grad.neg() : p.grad;
      if (weightDecay !== 0) g = g.add(p.mul(weightDecay));
      if (momentum !== 0) {
        const s = this.stateOf(p);
        const old = s.momentumBuffer;
        const buf =
          old === undefined || typeof old === 'number'
            ? this.setStateTensor(s, 'momentumBuffer', g)
            : old.assign(old.mul(momentum).add(g.mul(1 - dampening)));
        g = nesterov ? g.add(buf.mul(momentum)) : buf;
      }
      p.assign(p.sub(g.mul(lr)));
    }
  }
}
