import { ENGINE, getBackend, noGrad, scope } from '../engine.js';
import { ShapeError } from '../errors/index.js';
import type { AdamStepAttrs } from '../kernel-names.js';
import { getKernel } from '../kernel-registry.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from '../validation.js';
import { split } from './shape-ops.js';

/**
 * Hyper-parameters of one Adam / AdamW update (`torch.optim.Adam(W)` names, `step` counted from 1;
 * `decoupledWeightDecay`: AdamW's `p *= 1 − lr·wd` instead of adding `wd·p` to the gradient).
 */
export type AdamStepOptions = AdamStepAttrs;

/** The optimizer state `adamStep` updates in place (`maxExpAvgSq` only with AMSGrad). */
export interface AdamState {
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq?: Tensor | null;
}

/**
 * One Adam (Kingma & Ba 2015) or AdamW (Loshchilov & Hutter 2019) update, in place on `param` and
 * `state`, in `torch.optim.Adam`'s single-tensor order:
 * `g += wd·p` (or `p *= 1 − lr·wd`); `m += (g − m)(1 − β1)`; `v = β2·v + (1 − β2)·g²`;
 * `p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)`.
 *
 * Where the backend registers the fused `AdamStep` kernel (cpu, wasm) this is one pass over the
 * values instead of about fourteen kernels and their temporaries; elsewhere the same float32
 * operations run as separate ops, with bit-identical results.
 *
 * ```ts
 * adamStep(w, w.grad!, { expAvg: m, expAvgSq: v }, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8,
 *   weightDecay: 0.01, decoupledWeightDecay: true, step: 1, amsgrad: false, maximize: false });
 * ```
 */
export function adamStep(param: Tensor, grad: Tensor, state: AdamState, options: AdamStepOptions): void {
  const named: [string, Tensor | null | undefined][] = [
    ['param', param],
    ['grad', grad],
    ['expAvg', state.expAvg],
    ['expAvgSq', state.expAvgSq],
    ['maxExpAvgSq', options.amsgrad ? state.maxExpAvgSq : null],
  ];
  for (const [name, t] of named) {
    if (t === null) continue;
    assertTensor('adamStep', name, t);
    if (!shapesEqual(t.shape, param.shape))
      throw new ShapeError(
        'adamStep',
        `${name} ${formatShape(t.shape)} must match param ${formatShape(param.shape)}`,
      );
  }
  const inputs = named.map(([, t]) => t).filter((t): t is Tensor => t != null);
  noGrad(() =>
    scope(() => {
      const fused =
        inputs.every((t) => t.dtype === 'float32') && getKernel('AdamStep', getBackend()) !== undefined;
      if (fused) {
        const packed = ENGINE.runKernel('AdamStep', inputs, { ...options });
        const [p, m, v, vmax] = split(packed, 1, 0).map((t) => t.reshape([...param.shape]));
        param.assign(p!);
        state.expAvg.assign(m!);
        state.expAvgSq.assign(v!);
        if (vmax) state.maxExpAvgSq!.assign(vmax);
      } else {
        composedAdamStep(param, grad, state, options);
      }
    }),
  );
}

/** The reference: the same float32 steps as separate ops (every backend has these). */
function composedAdamStep(param: Tensor, grad: Tensor, state: AdamState, o: AdamStepOptions): void {
  let g = o.maximize ? grad.neg() : grad;
  if (o.weightDecay !== 0) {
    if (o.decoupledWeightDecay) param.assign(param.mul(1 - o.lr * o.weightDecay));
    else g = g.add(param.mul(o.weightDecay));
  }
  const { expAvg, expAvgSq } = state;
  // torch.lerp with weight < 0.5: start + weight·(end − start).
  expAvg.assign(expAvg.add(g.sub(expAvg).mul(1 - o.beta1)));
  expAvgSq.assign(expAvgSq.mul(o.beta2).add(g.mul(g).mul(1 - o.beta2)));
  let second = expAvgSq;
  if (o.amsgrad) {
    const maxSq = state.maxExpAvgSq!;
    maxSq.assign(maxSq.maximum(expAvgSq));
    second = maxSq;
  }
  const denom = second
    .sqrt()
    .div(Math.sqrt(1 - o.beta2 ** o.step))
    .add(o.eps);
  param.assign(param.add(expAvg.div(denom).mul(-o.lr / (1 - o.beta1 ** o.step))));
}
