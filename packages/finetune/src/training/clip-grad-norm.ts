import { ArgumentError, noGrad, scope, type Tensor, tensor } from '@polymodal/tensor';

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite (default false, like torch). */
  errorIfNonfinite?: boolean;
}

/**
 * Clips the gradients of `params` in place so that their global norm (all gradients viewed as
 * one vector) is at most `maxNorm`, like `torch.nn.utils.clip_grad_norm_`: grads are multiplied
 * by `min(1, maxNorm / (total + 1e-6))`. Returns the total norm before clipping (a number).
 * `normType` may be any p > 0 or `Infinity`. Pascanu et al. 2013, "On the difficulty of training RNNs".
 *
 * ```ts
 * loss.backward();
 * const norm = clipGradNorm(model.parameters(), 1.0);
 * optimizer.step();
 * ```
 */
export function clipGradNorm(
  params: Iterable<Tensor>,
  maxNorm: number,
  normType = 2,
  options: ClipGradNormOptions = {},
): number {
  if (!(maxNorm >= 0)) throw new ArgumentError('clipGradNorm', `maxNorm must be ≥ 0, got ${maxNorm}`);
  if (!(normType > 0))
    throw new ArgumentError('clipGradNorm', `normType must be > 0 or Infinity, got ${normType}`);
  const withGrad = [...params].filter((p) => p.grad !== null);
  if (withGrad.length === 0) return 0;
  return noGrad(() => {
    const total = scope(() => {
      let acc = 0;
      for (const p of withGrad) {
        const g = p.grad as Tensor;
        if (normType === Infinity) acc = Math.max(acc, g.abs().max().item());
        else if (normType === 2) acc += g.square().sum().item();
        else acc += g.abs().pow(normType).sum().item();
      }
      return normType === Infinity ? acc : acc ** (1 / normType);
    });
    if (options.errorIfNonfinite && !Number.isFinite(total))
      throw new ArgumentError('clipGradNorm', `the total norm of order ${normType} is ${total}`);
    const coef = Math.min(1, maxNorm / (total + 1e-6));
    if (coef < 1) {
      for (const p of withGrad) {
        const g = p.grad as Tensor;
        scope(() => {
          g.assign(g.mul(coef));
        });
      }
    }
    return total;
  });
}

/**
 * {@link clipGradNorm} without reading anything back to the host, as torch's `clip_grad_norm_`
 * does it: the total norm stays a scalar tensor and every gradient is multiplied by
 * `clamp(maxNorm / (total + 1e-6), max 1)` on the device (a factor of exactly 1 leaves a gradient's
 * bits unchanged). For training loops on a GPU, where `clipGradNorm`'s per-parameter reads would
 * each wait for the device. Returns the total norm before clipping (a new scalar tensor; the
 * caller frees it).
 *
 * ```ts
 * loss.backward();
 * const norm = clipGradNormTensor(model.parameters(), 1.0); // Tensor []
 * optimizer.step();
 * logNormLater(norm); // read it when logging, e.g. `(await norm.data())[0]`
 * ```
 */
export function clipGradNormTensor(params: Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  if (!(maxNorm >= 0)) throw new ArgumentError('clipGradNormTensor', `maxNorm must be ≥ 0, got ${maxNorm}`);
  if (!(normType > 0))
    throw new ArgumentError('clipGradNormTensor', `normType must be > 0 or Infinity, got ${normType}`);
  const withGrad = [...params].filter((p) => p.grad !== null);
  if (withGrad.length === 0) return tensor(0);
  return noGrad(() => {
    const total = scope(() => {
      let acc: Tensor | null = null;
      for (const p of withGrad) {
        const g = p.grad as Tensor;
        const part =
          normType === Infinity
            ? g.abs().max()
            : normType === 2
              ? g.square().sum()
              : g.abs().pow(normType).sum();
        acc = acc === null ? part : normType === Infinity ? acc.maximum(part) : acc.add(part);
      }
      const t = acc as Tensor;
      return normType === Infinity ? t : normType === 2 ? t.sqrt() : t.pow(1 / normType);
    });
    scope(() => {
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).minimum(1);
      for (const p of withGrad) {
        const g = p.grad as Tensor;
        g.assign(g.mul(coef));
      }
    });
    return total;
  });
}

/**
 * Clamps every gradient element to `[-clipValue, clipValue]` (`torch.nn.utils.clip_grad_value_`).
 *
 * ```ts
 * clipGradValue(model.parameters(), 0.5);
 * ```
 */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new ArgumentError('clipGradValue', `clipValue must be ≥ 0, got ${clipValue}`);
  noGrad(() => {
    for (const p of params) {
      const g = p.grad;
      if (g) scope(() => g.assign(g.clamp(-clipValue, clipValue)));
    }
  });
}
