import type { Tensor } from '@polymodal/tensor';
import { namePattern } from './name-pattern.js';

/** One name pattern or several (see `namePattern`); `undefined` matches every parameter. */
export type ParameterPatterns = string | RegExp | readonly (string | RegExp)[] | undefined;

/**
 * Sets `requiresGrad` on every parameter whose dotted name matches one of `patterns` (glob `*`
 * within a dot segment, `**` across, or RegExps; all when `undefined`) and returns the names it
 * matched. Freezing also clears `.grad`. The one implementation behind `Module.freeze`/`unfreeze`
 * and finetune's `freezeParameters`/`unfreezeParameters`.
 *
 * ```ts
 * setTrainable(model.namedParameters(), ['embeddings.**', /^encoder\.layers\.0\./], false);
 * // ['embeddings.token.weight', …]
 * ```
 */
export function setTrainable(
  parameters: Iterable<readonly [string, Tensor]>,
  patterns: ParameterPatterns,
  trainable: boolean,
): string[] {
  // namePattern rejects anything but a string or a RegExp with an ArgumentError naming it.
  const res =
    patterns === undefined
      ? undefined
      : (Array.isArray(patterns) ? patterns : [patterns as string | RegExp]).map(namePattern);
  const matches = (name: string): boolean =>
    res === undefined ||
    res.some((re) => {
      re.lastIndex = 0; // a /g or /y RegExp keeps state between tests
      return re.test(name);
    });
  const changed: string[] = [];
  for (const [name, p] of parameters) {
    if (!matches(name)) continue;
    p.requiresGrad_(trainable);
    // Freezing clears `.grad`. PyTorch's `requires_grad_(False)` keeps it, but its (and our)
    // optimizers skip a parameter only when its grad is empty, not when it is frozen: a kept grad
    // (freezing between `backward` and `step`, or mid gradient accumulation) would still be applied
    // once, and would count in `clipGradNorm`. Clearing gives at once the state Hugging Face users
    // reach after the next `zero_grad(set_to_none=True)`: frozen means no grad, and no update.
    if (!trainable) p.zeroGrad();
    changed.push(name);
  }
  return changed;
}
