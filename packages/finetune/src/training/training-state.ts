import { deserializeSafetensors, type Module, serializeSafetensors } from '@polymodal/nn';
import { ArgumentError, type Generator, getDefaultGenerator } from '@polymodal/tensor';
import type { Optimizer } from '../optim/optimizer.js';
import {
  loadOptimizerState,
  type OptimizerStateMeta,
  saveOptimizerState,
} from '../optim/optimizer-state-file.js';
import type { Scheduler, SchedulerStateDict } from '../schedulers/lr-scheduler.js';
import type { TrainerState } from '../trainer/trainer-types.js';
import type { ExponentialMovingAverage } from './ema.js';

/** Everything a training run's state lives in; what `saveTrainingState` captures. */
export interface TrainingParts {
  model: Module;
  optimizer: Optimizer;
  scheduler?: Scheduler | null;
  /** The training data's position (a `DataLoader`): saved when it has `stateDict`. */
  loader?: { stateDict?(): unknown; loadStateDict?(state: never): void } | null;
  /**
   * Generators outside the model (an augmentation's). The model's own (`model.namedGenerators()`)
   * and the default generator are always saved, by name.
   */
  generators?: readonly Generator[];
  ema?: ExponentialMovingAverage | null;
}

/** The files of a saved training state, by name (what a checkpoint directory holds). */
export type TrainingStateFiles = Record<string, Uint8Array>;

/** The files every training state has (`ema.safetensors` is added with an EMA). */
export const TRAINING_STATE_FILES = ['model.safetensors', 'optimizer.safetensors', 'trainer.json'] as const;

type GeneratorState = ReturnType<Generator['getState']>;

/** `trainer.json`: the format of checkpoints since 0.1 (a field added since is optional). */
interface TrainerJson {
  state: TrainerState;
  optimizer: OptimizerStateMeta;
  scheduler: SchedulerStateDict | null;
  loader: unknown;
  rng: {
    default: GeneratorState;
    generators: GeneratorState[];
    /** The model's generators by `namedGenerators()` name (absent in checkpoints before 0.2). */
    model?: Record<string, GeneratorState>;
  };
  ema: { numUpdates: number } | null;
}

/** The model's generators by name, without the default one (saved on its own). */
function modelGenerators(model: Module): [string, Generator][] {
  const fallback = getDefaultGenerator();
  return model.namedGenerators().filter(([, g]) => g !== fallback);
}

/**
 * Captures a training run for an exact resume: model weights, optimizer state (moments, steps,
 * param groups), scheduler, the loader's position, every RNG (the default generator, the model's
 * by name, the extra ones given), the EMA and the trainer's counters. Pure: returns the files'
 * bytes (`model.safetensors`, `optimizer.safetensors`, `trainer.json`, `ema.safetensors`) for a
 * store to write; nothing touches a disk.
 *
 * ```ts
 * const files = saveTrainingState({ model, optimizer, scheduler, loader }, trainer.state);
 * await new CheckpointStore('ckpt').save(trainer.state.step, files);
 * ```
 */
export function saveTrainingState(parts: TrainingParts, counters: TrainerState): TrainingStateFiles {
  const { model, optimizer, scheduler, loader, generators, ema } = parts;
  const opt = saveOptimizerState(optimizer);
  const json: TrainerJson = {
    state: { ...counters, shouldStop: false },
    optimizer: opt.meta,
    scheduler: scheduler?.stateDict() ?? null,
    loader: loader?.stateDict?.() ?? null,
    rng: {
      default: getDefaultGenerator().getState(),
      generators: (generators ?? []).map((g) => g.getState()),
      model: Object.fromEntries(modelGenerators(model).map(([name, g]) => [name, g.getState()])),
    },
    ema: ema ? { numUpdates: ema.numUpdates } : null,
  };
  const files: TrainingStateFiles = {
    'model.safetensors': serializeSafetensors(model.stateDict()),
    'optimizer.safetensors': opt.tensors,
    'trainer.json': new TextEncoder().encode(JSON.stringify(json)),
  };
  if (ema)
    files['ema.safetensors'] = serializeSafetensors(
      Object.fromEntries(ema.shadowParams().map((t, i) => [String(i), t])),
    );
  return files;
}

export interface LoadTrainingStateOptions {
  /** Hears about generators saved for a model that lacks them, and the reverse. */
  log?: (line: string) => void;
}

export interface LoadedTrainingState {
  /** The trainer's counters as saved. */
  counters: TrainerState;
  /** Whether the loader's position was restored (else the caller skips consumed batches). */
  loaderRestored: boolean;
}

/**
 * Restores what {@link saveTrainingState} captured into `parts` (the same kinds of objects, built
 * the same way) and returns the saved counters. Checkpoints written by the Trainer before this
 * module existed load unchanged (same files, same `trainer.json`).
 *
 * ```ts
 * const ckpt = await store.loadLatest();
 * if (ckpt) Object.assign(trainer.state, loadTrainingState(parts, ckpt.files).counters);
 * ```
 */
export function loadTrainingState(
  parts: TrainingParts,
  files: TrainingStateFiles,
  options: LoadTrainingStateOptions = {},
): LoadedTrainingState {
  const missing = TRAINING_STATE_FILES.filter((f) => !files[f]);
  if (missing.length)
    throw new ArgumentError('loadTrainingState', `the training state lacks ${missing.join(', ')}`);
  const { model, optimizer, scheduler, loader, generators, ema } = parts;
  const json = JSON.parse(new TextDecoder().decode(files['trainer.json'])) as TrainerJson;
  const modelTensors = deserializeSafetensors(files['model.safetensors']!).tensors;
  try {
    model.loadStateDict(modelTensors);
  } finally {
    for (const t of Object.values(modelTensors)) t.dispose();
  }
  loadOptimizerState(optimizer, files['optimizer.safetensors']!, json.optimizer);
  if (scheduler && json.scheduler) scheduler.loadStateDict(json.scheduler);
  const emaBytes = files['ema.safetensors'];
  if (ema && json.ema && emaBytes) {
    const shadow = deserializeSafetensors(emaBytes).tensors;
    const list = Object.keys(shadow)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => shadow[k]!);
    try {
      ema.loadStateDict({ numUpdates: json.ema.numUpdates, shadow: list });
    } finally {
      for (const t of list) t.dispose();
    }
  }
  let loaderRestored = false;
  if (json.loader !== null && loader?.loadStateDict) {
    (loader.loadStateDict as (s: unknown) => void)(json.loader);
    loaderRestored = true;
  }
  getDefaultGenerator().setState(json.rng.default);
  (generators ?? []).forEach((g, i) => {
    const s = json.rng.generators[i];
    if (s) g.setState(s);
  });
  const saved = json.rng.model;
  if (saved) {
    const own = modelGenerators(model);
    for (const [name, g] of own) {
      const s = saved[name];
      if (s) g.setState(s);
      else options.log?.(`checkpoint has no state for the model's generator '${name}': it starts fresh`);
    }
    const names = new Set(own.map(([n]) => n));
    for (const name of Object.keys(saved))
      if (!names.has(name))
        options.log?.(`checkpoint has state for a generator '${name}' the model does not have`);
  }
  return { counters: json.state, loaderRestored };
}
