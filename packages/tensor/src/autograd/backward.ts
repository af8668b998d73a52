import { ENGINE, type GradNode, noGrad, scope } from '../engine.js';
import { ArgumentError, AutogradError, ShapeError } from '../errors/index.js';
import { add, onesLike } from '../ops/index.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { type GradConfig, getGradient } from './gradient-registry.js';

/** Tensors reachable from `root` through recorded nodes, inputs before the outputs that use them. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const input of t.gradNode?.inputs ?? [])
      if (input.requiresGrad && !seen.has(input)) stack.push([input, false]);
  }
  return order;
}

/**
 * Reverse-mode autodiff: walks the tape from `root` and accumulates dL/dleaf into `leaf.grad` for
 * every leaf with `requiresGrad`. Runs without recording (no higher-order gradients), in a scope
 * that frees every intermediate gradient and keeps only the leaves'.
 */
export function backward(root: Tensor, gradient?: Tensor): void {
  if (!root.requiresGrad) {
    throw new ArgumentError(
      'backward',
      `tensor ${formatShape(root.shape)} does not require grad (no input had requiresGrad)`,
    );
  }
  if (!gradient && root.size !== 1) {
    throw new ShapeError(
      'backward',
      `a gradient is needed for a non-scalar output ${formatShape(root.shape)}`,
    );
  }
  if (gradient && !shapesEqual(gradient.shape, root.shape)) {
    throw new ShapeError(
      'backward',
      `gradient ${formatShape(gradient.shape)} does not match output ${formatShape(root.shape)}`,
    );
  }
  const order = topologicalOrder(root);
  noGrad(() =>
    scope(() => {
      const grads = new Map<Tensor, Tensor>();
      grads.set(root, gradient ?? onesLike(root));
      for (let i = order.length - 1; i >= 0; i--) {
        const t = order[i]!;
        const dy = grads.get(t);
        if (!dy) continue;
        const node = t.gradNode;
        if (!node) {
          accumulateLeaf(t, dy, dy === gradient);
          continue;
        }
        const config = getGradient(node.kernelName)!;
        checkSavedVersions(node, config);
        const inputGrads = config.gradFunc(dy, {
          inputs: node.inputs,
          output: t,
          attrs: node.attrs,
          needsInputGrad: node.inputs.map((input) => input.requiresGrad),
        });
        node.inputs.forEach((input, k) => {
          const g = inputGrads[k];
          if (!g || !input.requiresGrad) return;
          if (!shapesEqual(g.shape, input.shape)) {
            throw new ShapeError(
              `backward(${node.kernelName})`,
              `gradient ${formatShape(g.shape)} for input ${k} of shape ${formatShape(input.shape)}`,
            );
          }
          const prev = grads.get(input);
          grads.set(input, prev ? add(prev, g) : g);
        });
        grads.delete(t);
      }
    }),
  );
}

function accumulateLeaf(leaf: Tensor, g: Tensor, isUserGradient: boolean): void {
  if (leaf.grad && !leaf.grad.isDisposed) {
    const sum = add(leaf.grad, g);
    leaf.grad.dispose();
    leaf.grad = ENGINE.keep(sum);
    return;
  }
  // A gradient tensor may be shared (an Add passes dy to both inputs): give each leaf its own.
  const own = isUserGradient || ownedElsewhere.has(g) ? g.clone() : g;
  ownedElsewhere.add(own);
  leaf.grad = ENGINE.keep(own);
}

const ownedElsewhere = new WeakSet<Tensor>();

/**
 * Refuses a gradient whose saved tensors were changed in place (`assign`) after the forward op
 * used them: it would be computed from the new values and be silently wrong (PyTorch raises
 * "one of the variables needed for gradient computation has been modified by an inplace operation").
 */
function checkSavedVersions(node: GradNode, config: GradConfig): void {
  const saved = config.saved;
  const inputs = saved?.inputs ?? node.inputs.map((_, k) => k);
  for (const k of inputs) {
    const t = node.inputs[k];
    const expected = node.inputVersions[k];
    if (!t || expected === undefined || t.version === expected) continue;
    throw new AutogradError(
      `backward(${node.kernelName})`,
      `input ${k} of ${node.kernelName}, tensor #${t.id} ${formatShape(t.shape)}, was modified in place (assign) after ${node.kernelName} used it: it is at version ${t.version}, the gradient needs version ${expected}. Clone it before changing it, or call backward() first`,
    );
  }
  const out = node.output;
  if ((saved?.output ?? true) && out.version !== 0) {
    throw new AutogradError(
      `backward(${node.kernelName})`,
      `the output of ${node.kernelName}, tensor #${out.id} ${formatShape(out.shape)}, was modified in place (assign) after it was computed: it is at version ${out.version}, the gradient needs version 0`,
    );
  }
}
