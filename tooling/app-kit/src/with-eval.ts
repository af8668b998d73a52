import type { Module } from '@polymodal/nn';

/**
 * Runs `fn` with `model` in eval mode (dropout off) and puts the mode back as it was, also when
 * `fn` throws. Works for sync and async `fn` (an async one is restored after it settles).
 *
 * ```ts
 * const metrics = withEval(model, () => noGrad(() => evaluate(model, data)));
 * ```
 */
export function withEval<T>(model: Module, fn: () => T): T {
  const wasTraining = model.training;
  model.eval();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    model.train(wasTraining);
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => model.train(wasTraining)) as T;
  }
  model.train(wasTraining);
  return result;
}
