import { ENGINE, scope } from '../engine.js';
import { ArgumentError } from '../errors/index.js';
import type { Tensor } from '../tensor.js';

/**
 * `valueAndGrad(f)(...xs)`: the value of scalar-valued `f` and its gradient with respect to every
 * argument (like JAX `value_and_grad`). Arguments are not modified; gradients are new tensors.
 *
 * ```ts
 * const { value, grads } = valueAndGrad((x) => x.square().sum())(tensor([1, 2]));
 * // grads[0] = [2, 4]
 * ```
 */
export function valueAndGrad(
  f: (...xs: Tensor[]) => Tensor,
): (...xs: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...xs) => {
    const leaves = xs.map((x) => {
      const leaf = x.detach();
      leaf.requiresGrad = true;
      return leaf;
    });
    const result = scope(() => {
      const value = f(...leaves);
      if (value.size !== 1)
        throw new ArgumentError('grad', `f must return a scalar, got shape [${value.shape.join(',')}]`);
      if (value.requiresGrad) value.backward();
      return value.detach();
    });
    const grads = leaves.map((leaf) => {
      const g = leaf.grad ?? ENGINE.fromValues(new Float32Array(leaf.size), leaf.shape, 'float32');
      leaf.grad = null;
      leaf.dispose();
      return g;
    });
    return { value: result, grads };
  };
}

/** `grad(f)(...xs)`: the gradients of scalar-valued `f` with respect to each argument. */
export function grad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => Tensor[] {
  const vg = valueAndGrad(f);
  return (...xs) => {
    const { value, grads } = vg(...xs);
    value.dispose();
    return grads;
  };
}
