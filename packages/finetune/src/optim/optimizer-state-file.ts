import { deserializeSafetensors, serializeSafetensors } from '@polymodal/nn';
import type { Tensor } from '@polymodal/tensor';
import type { Optimizer, OptimizerStateDict, ParamState } from './optimizer.js';

/** The JSON half of a saved optimizer: hyper-parameters per group and the numeric per-param state. */
export interface OptimizerStateMeta {
  paramGroups: OptimizerStateDict['paramGroups'];
  /** Numbers of each parameter's state (e.g. Adam's `step`), keyed by parameter index. */
  scalars: Record<string, Record<string, number>>;
}

/** A saved optimizer: its tensors as safetensors bytes (`<param index>.<name>`) and the rest as JSON. */
export interface SavedOptimizerState {
  tensors: Uint8Array;
  meta: OptimizerStateMeta;
}

/**
 * An optimizer's `stateDict()` in the on-disk form the Trainer's checkpoints use: the tensors of each
 * parameter's state (Adam's moments, momentum buffers) in one safetensors file under
 * `<param index>.<name>`, the numbers and param groups as JSON. No I/O here: bytes in, bytes out.
 *
 * ```ts
 * const { tensors, meta } = saveOptimizerState(optimizer);
 * // …write `tensors` to optimizer.safetensors and `meta` into a JSON file…
 * loadOptimizerState(optimizer, tensors, meta);
 * ```
 */
export function saveOptimizerState(optimizer: Optimizer): SavedOptimizerState {
  const sd = optimizer.stateDict();
  const stateTensors: Record<string, Tensor> = {};
  const scalars: Record<string, Record<string, number>> = {};
  for (const [idx, s] of Object.entries(sd.state)) {
    for (const [name, v] of Object.entries(s)) {
      if (typeof v === 'number') (scalars[idx] ??= {})[name] = v;
      else stateTensors[`${idx}.${name}`] = v;
    }
  }
  return { tensors: serializeSafetensors(stateTensors), meta: { paramGroups: sd.paramGroups, scalars } };
}

/**
 * Restores what {@link saveOptimizerState} wrote into `optimizer` (whose parameters must match in
 * number, groups and shapes; `Optimizer.loadStateDict` names any mismatch). The decoded tensors are
 * freed once copied.
 *
 * ```ts
 * loadOptimizerState(optimizer, bytesOfOptimizerSafetensors, trainerJson.optimizer);
 * ```
 */
export function loadOptimizerState(
  optimizer: Optimizer,
  tensors: Uint8Array,
  meta: OptimizerStateMeta,
): void {
  const decoded = deserializeSafetensors(tensors).tensors;
  try {
    const state: Record<number, ParamState> = {};
    for (const [idx, s] of Object.entries(meta.scalars)) state[Number(idx)] = { ...s };
    for (const [key, t] of Object.entries(decoded)) {
      const dot = key.indexOf('.');
      (state[Number(key.slice(0, dot))] ??= {})[key.slice(dot + 1)] = t;
    }
    optimizer.loadStateDict({ state, paramGroups: meta.paramGroups });
  } finally {
    for (const t of Object.values(decoded)) t.dispose();
  }
}
