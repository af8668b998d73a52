import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

const f = Math.fround;

/**
 * Fused Adam/AdamW update: inputs param, grad, expAvg, expAvgSq (and maxExpAvgSq with AMSGrad);
 * output `[k, ...shape]` holding the new param, expAvg, expAvgSq (and maxExpAvgSq). Every
 * intermediate is rounded to float32 in the order of the composed ops (see ops/adam-step.ts), so
 * the two paths agree bit for bit.
 */
export const adamStepKernel: KernelConfig = cpuKernel('AdamStep', ({ inputs, attrs: o, backend }) => {
  const cpu = backend as CpuBackend;
  const [p, g, m, v, vmax] = inputs.map((t) => cpu.values(t.dataId)) as Float32Array[];
  const n = p!.length;
  const k = vmax ? 4 : 3;
  const out = new Float32Array(k * n);
  const decay = f(1 - o.lr * o.weightDecay);
  const wd = f(o.weightDecay);
  const oneMinusB1 = f(1 - o.beta1);
  const b2 = f(o.beta2);
  const oneMinusB2 = f(1 - o.beta2);
  const bc2Sqrt = f(Math.sqrt(1 - o.beta2 ** o.step));
  const eps = f(o.eps);
  const negStep = f(-o.lr / (1 - o.beta1 ** o.step));
  const decayWeights = o.weightDecay !== 0 && o.decoupledWeightDecay;
  const decayGrad = o.weightDecay !== 0 && !o.decoupledWeightDecay;
  for (let i = 0; i < n; i++) {
    let gi = o.maximize ? -g![i]! : g![i]!;
    let pi = p![i]!;
    if (decayWeights) pi = f(pi * decay);
    else if (decayGrad) gi = f(gi + f(pi * wd));
    const mi = f(m![i]! + f(f(gi - m![i]!) * oneMinusB1));
    const vi = f(f(v![i]! * b2) + f(f(gi * gi) * oneMinusB2));
    let second = vi;
    if (vmax) {
      const prev = vmax[i]!;
      second = prev >= vi || Number.isNaN(prev) ? prev : vi;
      out[3 * n + i] = second;
    }
    const denom = f(f(f(Math.sqrt(second)) / bc2Sqrt) + eps);
    out[i] = f(pi + f(f(mi / denom) * negStep));
    out[n + i] = mi;
    out[2 * n + i] = vi;
  }
  return cpu.output(out, [k, ...inputs[0]!.shape], 'float32');
});
