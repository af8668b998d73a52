import type { Module } from './module.js';

/**
 * Runs `fn` with every module of the tree in training mode `training`, then gives each module back
 * its own previous mode (a frozen encoder kept in eval mode inside a training model stays in eval
 * mode), also when `fn` throws; an async `fn` is restored once its promise settles. The one
 * implementation behind `withEval` and `updateBatchNorm`.
 *
 * ```ts
 * withTrainingMode(model, true, () => forwardForStatistics(model)); // BatchNorm in training mode
 * ```
 */
export function withTrainingMode<T>(module: Module, training: boolean, fn: () => T): T {
  const modules = module.modules();
  const modes = modules.map((m) => m.training);
  const restore = () => {
    modules.forEach((m, i) => {
      m.training = modes[i]!;
    });
  };
  module.train(training);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}

/**
 * Runs `fn` with `module` in eval mode (dropout off, BatchNorm on its running statistics) and gives
 * every submodule its own previous mode back afterwards, also when `fn` throws. Works for sync and
 * async `fn` (an async one is restored after it settles). It does not turn off autograd: wrap the
 * work in `noGrad` for that, as in PyTorch (`model.eval()` and `torch.no_grad()` are separate).
 *
 * ```ts
 * const metrics = withEval(model, () => noGrad(() => evaluate(model, data)));
 * await withEval(model, async () => { for await (const batch of data) embed(model, batch); });
 * ```
 */
export function withEval<T>(module: Module, fn: () => T): T {
  return withTrainingMode(module, false, fn);
}
