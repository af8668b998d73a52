import { grad } from '../autograd/functional.js';
import { ENGINE, noGrad, scope } from '../engine.js';
import type { Tensor } from '../tensor.js';

export interface GradCheckOptions {
  /** Central-difference step (float32 needs ≈ 1e-3). */
  eps?: number;
  /** Allowed |analytic − numeric| ≤ atol + rtol·|numeric|. */
  atol?: number;
  rtol?: number;
  /** Check at most this many entries per input (spread evenly); default all. */
  maxEntries?: number;
  /**
   * For piecewise ops (relu, abs, clamp, max, floor, …): skip entries where `f` is not
   * differentiable within ±eps — its forward and backward one-sided differences disagree beyond the
   * tolerance — and count them in `skipped`. Every other entry is held to the same tolerance.
   */
  skipKinks?: boolean;
}

export interface GradCheckResult {
  ok: boolean;
  /** The worst entry: which input, which flat index, both values. */
  worst: { input: number; index: number; analytic: number; numeric: number; error: number };
  /** Entries skipped because a kink lies within ±eps (only with `skipKinks`). */
  skipped: number;
}

/**
 * Compares the autograd gradient of scalar `f` with central differences
 * `(f(x + eps) − f(x − eps)) / 2eps`, entry by entry (like `torch.autograd.gradcheck`, in float32).
 */
export function gradCheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradCheckOptions = {},
): GradCheckResult {
  const eps = options.eps ?? 1e-3;
  const atol = options.atol ?? 1e-3;
  const rtol = options.rtol ?? 1e-2;
  const analytic = grad(f)(...inputs).map((g) => {
    const v = g.dataSync();
    g.dispose();
    return v;
  });
  const worst = { input: -1, index: -1, analytic: 0, numeric: 0, error: -1 };
  let ok = true;
  let skipped = 0;
  inputs.forEach((x, k) => {
    const base = x.dataSync() as Float32Array;
    const step = options.maxEntries ? Math.max(1, Math.floor(base.length / options.maxEntries)) : 1;
    for (let i = 0; i < base.length; i += step) {
      const evalAt = (delta: number) =>
        noGrad(() =>
          scope(() => {
            const values = base.slice();
            values[i] = base[i]! + delta;
            const moved = ENGINE.fromValues(values, x.shape, 'float32');
            const args = inputs.map((t, j) => (j === k ? moved : t));
            return f(...args).item();
          }),
        );
      const [up, down] = [evalAt(eps), evalAt(-eps)];
      const numeric = (up - down) / (2 * eps);
      if (options.skipKinks) {
        const here = evalAt(0);
        const [forward, backward] = [(up - here) / eps, (here - down) / eps];
        if (Math.abs(forward - backward) > 2 * (atol + rtol * Math.abs(numeric))) {
          skipped++;
          continue;
        }
      }
      const a = analytic[k]![i]!;
      const error = Math.abs(a - numeric);
      const allowed = atol + rtol * Math.abs(numeric);
      if (error > allowed || !Number.isFinite(a)) ok = false;
      // Rank entries by how close they come to failing, not by absolute error.
      if (error / allowed > worst.error / (atol + rtol * Math.abs(worst.numeric)) || worst.index < 0) {
        Object.assign(worst, { input: k, index: i, analytic: a, numeric, error });
      }
    }
  });
  return { ok, worst, skipped };
}
