import {
  type GradCheckOptions,
  type GradCheckResult,
  noGrad,
  scope,
  type Tensor,
  tensor,
} from '@polymodal/tensor';
import type { Module } from './module.js';

/**
 * Checks the autograd gradients of a module's parameters against central differences
 * `(L(p + eps) − L(p − eps)) / 2eps`, entry by entry, where `loss()` runs the module and returns a
 * scalar (keep it O(1), e.g. a `.mean()`, for float32). Parameters are restored afterwards.
 * The companion of `gradCheck` (which checks a function's inputs).
 *
 * ```ts
 * const fc = new Linear(3, 2, { seed: 0 });
 * const x = randn([4, 3], { seed: 1 });
 * gradCheckModule(fc, () => fc.forward(x).tanh().mean()).ok; // true
 * ```
 */
export function gradCheckModule(
  module: Module,
  loss: () => Tensor,
  options: GradCheckOptions & { parameters?: string[] } = {},
): GradCheckResult & { parameter: string } {
  const eps = options.eps ?? 1e-3;
  const atol = options.atol ?? 1e-3;
  const rtol = options.rtol ?? 1e-2;
  const named = module
    .namedParameters()
    .filter(([name, p]) => p.requiresGrad && (!options.parameters || options.parameters.includes(name)));
  module.zeroGrad();
  scope(() => loss().backward());
  const analytic = named.map(([, p]) =>
    p.grad ? (p.grad.dataSync() as Float32Array) : new Float32Array(p.size),
  );
  module.zeroGrad();
  const worst = { input: -1, index: -1, analytic: 0, numeric: 0, error: -1 };
  let parameter = '';
  let ok = true;
  let skipped = 0;
  named.forEach(([name, p], k) => {
    const base = p.dataSync() as Float32Array;
    const step = options.maxEntries ? Math.max(1, Math.floor(base.length / options.maxEntries)) : 1;
    const evalAt = (i: number, delta: number): number =>
      noGrad(() =>
        scope(() => {
          const values = base.slice();
          values[i] = base[i]! + delta;
          p.assign(tensor(values, { shape: p.shape }));
          return loss().item();
        }),
      );
    for (let i = 0; i < base.length; i += step) {
      const [up, down] = [evalAt(i, eps), evalAt(i, -eps)];
      const numeric = (up - down) / (2 * eps);
      if (options.skipKinks) {
        // As gradCheck: a kink within ±eps when the one-sided differences disagree.
        const here = evalAt(i, 0);
        if (Math.abs((up - here) / eps - (here - down) / eps) > 2 * (atol + rtol * Math.abs(numeric))) {
          skipped++;
          continue;
        }
      }
      const a = analytic[k]![i]!;
      const error = Math.abs(a - numeric);
      const allowed = atol + rtol * Math.abs(numeric);
      if (error > allowed || !Number.isFinite(a) || !Number.isFinite(numeric)) ok = false;
      if (worst.index < 0 || error / allowed > worst.error / (atol + rtol * Math.abs(worst.numeric))) {
        Object.assign(worst, { input: k, index: i, analytic: a, numeric, error });
        parameter = name;
      }
    }
    noGrad(() => scope(() => p.assign(tensor(base, { shape: p.shape }))));
  });
  return { ok, worst, skipped, parameter };
}
