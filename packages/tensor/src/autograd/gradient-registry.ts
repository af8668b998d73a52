import type { Tensor } from '../tensor.js';
import { BUILTIN_GRADIENTS } from './gradients.js';

export interface GradContext<A = unknown> {
  inputs: readonly Tensor[];
  output: Tensor;
  attrs: A;
  /**
   * Per input, whether its gradient is wanted (it requires grad), like PyTorch's
   * `ctx.needs_input_grad`: a gradient function may return null for the others and skip their work
   * (the data side of a matmul, a mask, a constant).
   */
  needsInputGrad: readonly boolean[];
}

/**
 * The gradient of one kernel, written once in terms of other ops so it runs on every backend
 * (after TF.js `GradConfig`). Returns one gradient (or null: no gradient) per input.
 */
export interface GradConfig<A = unknown> {
  kernelName: string;
  gradFunc: (dy: Tensor, ctx: GradContext<A>) => (Tensor | null)[];
  /**
   * Which tensors `gradFunc` reads the values of (TF.js `inputsToSave` / `outputsToSave`):
   * `backward()` checks that none of them was changed in place (`assign`) since the forward op.
   * Omitted: every input and the output (the safe default); shapes alone need no saving.
   */
  saved?: { inputs?: readonly number[]; output?: boolean };
}

const gradients = new Map<string, GradConfig>();
let builtinsLoaded = false;

export function registerGradient<A>(config: GradConfig<A>): void {
  gradients.set(config.kernelName, config as GradConfig);
}

export function getGradient(kernelName: string): GradConfig | undefined {
  if (!builtinsLoaded) {
    builtinsLoaded = true;
    for (const g of BUILTIN_GRADIENTS) if (!gradients.has(g.kernelName)) gradients.set(g.kernelName, g);
  }
  return gradients.get(kernelName);
}
