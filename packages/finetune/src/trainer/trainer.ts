import { deserializeSafetensors, Module, serializeSafetensors } from '@polymodal/nn';
import {
  ArgumentError,
  creationMark,
  type Generator,
  getDefaultGenerator,
  noGrad,
  scope,
  Tensor,
  tensorsIn,
} from '@polymodal/tensor';
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer.js';
import type { Scheduler, SchedulerStateDict } from '../schedulers/lr-scheduler.js';
import { ReduceLROnPlateau } from '../schedulers/reduce-lr-on-plateau.js';
import { clipGradNorm } from '../training/clip-grad-norm.js';
import type { ExponentialMovingAverage } from '../training/ema.js';
import { CheckpointStore, type LoadedCheckpoint } from './checkpoint-store.js';
import { createProgress, type ProgressMode, type ProgressReporter } from './progress.js';
import { lineChartSvg, reportHtml, type Series } from './svg-report.js';

/**
 * Batches for one epoch per iteration: an array, a generator-backed iterable or an async iterable
 * such as @polymodal/data's `DataLoader`. Optional hooks: `stateDict`/`loadStateDict` (its
 * position is then saved in checkpoints and restored on resume), `setEpoch`, `length`.
 *
 * Ownership: tensors a source makes while producing a batch (found in plain objects, arrays and
 * Maps) are freed by the Trainer once that batch's step is done; tensors that existed before (an
 * array of batches you built) stay yours. A source must not hand out a tensor it made for one
 * batch again in another.
 */
export type Batches<B> = (AsyncIterable<B> | Iterable<B>) & {
  stateDict?(): unknown;
  loadStateDict?(state: never): void;
  setEpoch?(epoch: number): void;
  readonly length?: number;
};

/** What `computeLoss` returns: one loss, or several named ones (summed with `lossWeights`). */
export type LossOutput = Tensor | Record<string, Tensor>;

/** Logged after every optimizer step. */
export interface StepLogs {
  step: number;
  epoch: number;
  /** Learning rate of the first param group (after the scheduler step). */
  lr: number;
  /** Weighted total loss, averaged over the accumulation window. */
  loss: number;
  /** Each named loss (unweighted), averaged over the accumulation window. */
  losses: Record<string, number>;
  gradNorm?: number;
}

/** Logged after every evaluation: `loss`, `loss/<name>` for multi-task losses, and metrics. */
export interface EvalLogs {
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

/** The trainer's resumable counters. */
export interface TrainerState {
  step: number;
  epoch: number;
  /** Batches consumed in the current epoch. */
  batchInEpoch: number;
  /** Set by a callback (or early stopping) to end training after the current step. */
  shouldStop: boolean;
  bestMetric: number | null;
  badEvals: number;
}

/** Hooks into the loop; each may be async. Set `trainer.state.shouldStop = true` to stop. */
export interface TrainerCallbacks<B> {
  onTrainBegin?(trainer: Trainer<B>): void | Promise<void>;
  onEpochBegin?(trainer: Trainer<B>, epoch: number): void | Promise<void>;
  onStepEnd?(trainer: Trainer<B>, logs: StepLogs): void | Promise<void>;
  onEvalEnd?(trainer: Trainer<B>, logs: EvalLogs): void | Promise<void>;
  onCheckpoint?(trainer: Trainer<B>, path: string): void | Promise<void>;
  onEpochEnd?(trainer: Trainer<B>, epoch: number): void | Promise<void>;
  onTrainEnd?(trainer: Trainer<B>, result: TrainResult): void | Promise<void>;
}

export interface EarlyStoppingOptions {
  /** Eval metric to watch (a key of `EvalLogs.metrics`, e.g. 'loss' or 'accuracy'). */
  metric: string;
  mode?: 'min' | 'max';
  /** Evaluations without improvement before stopping. */
  patience: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
}

export interface TrainerOptions<B> {
  model: Module;
  optimizer: Optimizer;
  /** Stepped after every optimizer step; a `ReduceLROnPlateau` is stepped after each eval instead. */
  scheduler?: Scheduler;
  /** Forward pass and loss(es) for one batch. Runs inside `scope`. */
  computeLoss: (model: Module, batch: B) => LossOutput;
  /** Weights of named losses in the total (default 1 each). */
  lossWeights?: Record<string, number>;
  trainData: Batches<B>;
  evalData?: Batches<B>;
  /** Metrics hook: numbers per eval batch, averaged over the eval set. Runs under `noGrad`. */
  computeMetrics?: (model: Module, batch: B) => Record<string, number>;
  /** Stop after this many epochs (default 1 unless maxSteps is given). */
  maxEpochs?: number;
  /** Stop after this many optimizer steps. */
  maxSteps?: number;
  gradientAccumulationSteps?: number;
  /** Clip the global gradient 2-norm to this before each optimizer step. */
  maxGradNorm?: number;
  /** Evaluate every N optimizer steps (default: at the end of each epoch). */
  evalEvery?: number;
  earlyStopping?: EarlyStoppingOptions;
  /** Directory for checkpoints (`checkpoint-<step>/`); none are written without it. */
  checkpointDir?: string;
  /** Save a checkpoint every N optimizer steps (and at the end). */
  checkpointEvery?: number;
  /** Checkpoints kept (default 3). */
  keepLast?: number;
  /** Weight EMA: updated after each optimizer step, swapped in for evaluation, checkpointed. */
  ema?: ExponentialMovingAverage;
  /**
   * Generators outside the model whose state is checkpointed too (e.g. an augmentation's). Those
   * the model holds (dropout, attention, LoRA: `model.namedGenerators()`) and the default
   * generator are saved and restored by name automatically.
   */
  generators?: Generator[];
  /** Directory for `metrics.jsonl`, `report.svg`, `report.html`. */
  outputDir?: string;
  /** 'auto' (default): a bar on a TTY, log lines otherwise. */
  progress?: ProgressMode;
  /** Log-line period in steps (default 10). */
  logEvery?: number;
  /** Where log lines go (default console.log). */
  log?: (line: string) => void;
  callbacks?: TrainerCallbacks<B>[];
}

export interface TrainResult {
  state: TrainerState;
  stoppedEarly: boolean;
  /** Step of the checkpoint the run resumed from, if any. */
  resumedFrom: number | null;
  history: { train: StepLogs[]; eval: EvalLogs[] };
  reportPath?: string;
}

interface TrainerJson {
  state: TrainerState;
  optimizer: {
    paramGroups: OptimizerStateDict['paramGroups'];
    scalars: Record<string, Record<string, number>>;
  };
  scheduler: SchedulerStateDict | null;
  loader: unknown;
  rng: {
    default: ReturnType<Generator['getState']>;
    generators: ReturnType<Generator['getState']>[];
    /** The model's generators by `namedGenerators()` name (absent in checkpoints before 0.2). */
    model?: Record<string, ReturnType<Generator['getState']>>;
  };
  ema: { numUpdates: number } | null;
}

/**
 * A training loop for fine-tuning: multi-task losses, gradient accumulation and clipping,
 * per-step LR scheduling, periodic evaluation with a metrics hook, early stopping, crash-safe
 * checkpoints (model, optimizer, scheduler, loader position, RNG, counters; atomic and
 * checksummed, the last K kept) with exact `resume`, a progress bar or log lines, a JSONL
 * metrics log and an SVG/HTML report.
 *
 * ```ts
 * const trainer = new Trainer({
 *   model, optimizer, scheduler: getScheduler('cosine', optimizer, { numWarmupSteps: 100, numTrainingSteps: 2000 }),
 *   computeLoss: (m, b) => ({ itc: contrastive(m, b), captioning: lm(m, b) }),
 *   lossWeights: { captioning: 0.5 },
 *   trainData: loader, evalData: valLoader, maxSteps: 2000, evalEvery: 200,
 *   checkpointDir: 'runs/a/ckpt', checkpointEvery: 100, outputDir: 'runs/a',
 * });
 * await trainer.train({ resume: true });
 * ```
 */
export class Trainer<B> {
  readonly state: TrainerState = {
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    shouldStop: false,
    bestMetric: null,
    badEvals: 0,
  };
  readonly history: { train: StepLogs[]; eval: EvalLogs[] } = { train: [], eval: [] };
  readonly store: CheckpointStore | null;
  private readonly accumulation: number;
  private progress: ProgressReporter | null = null;
  private resumedWithLoaderState = false;
  private lastSavedStep = -1;

  constructor(readonly options: TrainerOptions<B>) {
    if (!(options?.model instanceof Module)) throw new ArgumentError('Trainer', 'model must be a Module');
    if (typeof options.optimizer?.step !== 'function')
      throw new ArgumentError('Trainer', 'optimizer must be an Optimizer (SGD, AdamW, …)');
    if (typeof options.computeLoss !== 'function')
      throw new ArgumentError('Trainer', 'computeLoss must be a function (model, batch) => loss');
    const isIterable = (d: unknown) =>
      d !== null &&
      typeof d === 'object' &&
      (Symbol.iterator in (d as object) || Symbol.asyncIterator in (d as object));
    if (!isIterable(options.trainData))
      throw new ArgumentError('Trainer', 'trainData must be an array or an (async) iterable of batches');
    if (options.evalData !== undefined && !isIterable(options.evalData))
      throw new ArgumentError('Trainer', 'evalData must be an array or an (async) iterable of batches');
    this.accumulation = options.gradientAccumulationSteps ?? 1;
    if (!Number.isInteger(this.accumulation) || this.accumulation < 1)
      throw new ArgumentError(
        'Trainer',
        `gradientAccumulationSteps must be a positive integer, got ${this.accumulation}`,
      );
    for (const key of ['maxSteps', 'maxEpochs', 'evalEvery', 'checkpointEvery'] as const) {
      const v = options[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 1))
        throw new ArgumentError('Trainer', `${key} must be a positive integer, got ${v}`);
    }
    if (options.checkpointEvery !== undefined && !options.checkpointDir)
      throw new ArgumentError('Trainer', 'checkpointEvery needs a checkpointDir');
    if (options.earlyStopping && !options.evalData)
      throw new ArgumentError('Trainer', 'earlyStopping needs evalData');
    this.store = options.checkpointDir
      ? new CheckpointStore(options.checkpointDir, options.keepLast ?? 3)
      : null;
  }

  private get maxEpochs(): number {
    return this.options.maxEpochs ?? (this.options.maxSteps !== undefined ? Number.POSITIVE_INFINITY : 1);
  }

  private log(line: string): void {
    (this.options.log ?? console.log)(line);
  }

  private async callbacks(fn: (cb: TrainerCallbacks<B>) => void | Promise<void>): Promise<void> {
    for (const cb of this.options.callbacks ?? []) await fn(cb);
  }

  /** One micro-batch: forward, weighted loss sum, backward of `total / accumulation`. */
  private trainBatch(batch: B): { total: number; losses: Record<string, number> } {
    return scope(() => {
      const named = this.namedLosses(batch);
      let total: Tensor | null = null;
      const losses: Record<string, number> = {};
      for (const [name, t] of Object.entries(named)) {
        if (t.size !== 1)
          throw new ArgumentError('Trainer', `loss '${name}' must be a scalar, got shape [${t.shape}]`);
        losses[name] = t.item();
        const w = this.options.lossWeights?.[name] ?? 1;
        if (w !== 0) total = total ? total.add(t.mul(w)) : t.mul(w);
      }
      if (!total) throw new ArgumentError('Trainer', 'computeLoss returned no loss with a nonzero weight');
      const value = total.item();
      if (!Number.isFinite(value))
        throw new ArgumentError(
          'Trainer',
          `loss is ${value} at step ${this.state.step + 1} (${JSON.stringify(losses)})`,
        );
      (this.accumulation === 1 ? total : total.div(this.accumulation)).backward();
      return { total: value, losses };
    });
  }

  private namedLosses(batch: B): Record<string, Tensor> {
    const out = this.options.computeLoss(this.options.model, batch);
    if (out instanceof Tensor) return { loss: out };
    if (Object.keys(out).length === 0) throw new ArgumentError('Trainer', 'computeLoss returned no losses');
    return out;
  }

  /** Runs the eval set under `noGrad` in eval mode; returns averaged losses and metrics. */
  async evaluate(): Promise<Record<string, number>> {
    const data = this.options.evalData;
    if (!data) throw new ArgumentError('Trainer.evaluate', 'no evalData');
    const { model } = this.options;
    const wasTraining = model.training;
    model.eval();
    this.options.ema?.applyTo();
    const sums: Record<string, number> = {};
    let n = 0;
    try {
      let mark = creationMark();
      for await (const batch of data) {
        let values: Record<string, number>;
        try {
          values = this.evalBatch(batch);
        } finally {
          releaseBatch(batch, mark);
          mark = creationMark();
        }
        for (const [k, v] of Object.entries(values)) sums[k] = (sums[k] ?? 0) + v;
        n++;
      }
    } finally {
      this.options.ema?.restore();
      model.train(wasTraining);
    }
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
  }

  /** Losses and metrics of one eval batch, under `noGrad`. */
  private evalBatch(batch: B): Record<string, number> {
    const { model } = this.options;
    return noGrad(() =>
      scope(() => {
        const named = this.namedLosses(batch);
        const out: Record<string, number> = {};
        let total = 0;
        for (const [name, t] of Object.entries(named)) {
          const v = t.item();
          total += (this.options.lossWeights?.[name] ?? 1) * v;
          if (Object.keys(named).length > 1) out[`loss/${name}`] = v;
        }
        out.loss = total;
        Object.assign(out, this.options.computeMetrics?.(model, batch) ?? {});
        return out;
      }),
    );
  }

  private async evalAndTrack(): Promise<void> {
    const metrics = await this.evaluate();
    const logs: EvalLogs = { step: this.state.step, epoch: this.state.epoch, metrics };
    this.history.eval.push(logs);
    await this.appendJsonl({ type: 'eval', ...logs });
    this.progress?.log(
      `eval @ step ${logs.step}: ${Object.entries(metrics)
        .map(([k, v]) => `${k}=${v.toFixed(4)}`)
        .join(' ')}`,
    );
    const { scheduler, earlyStopping } = this.options;
    const watched = earlyStopping?.metric ?? 'loss';
    if (scheduler instanceof ReduceLROnPlateau) {
      const v = metrics[watched];
      if (v === undefined)
        throw new ArgumentError('Trainer', `eval produced no metric '${watched}' for ReduceLROnPlateau`);
      scheduler.step(v);
    }
    if (earlyStopping) {
      const v = metrics[earlyStopping.metric];
      if (v === undefined)
        throw new ArgumentError(
          'Trainer',
          `early stopping watches '${earlyStopping.metric}' but eval produced [${Object.keys(metrics).join(', ')}]`,
        );
      const minDelta = earlyStopping.minDelta ?? 0;
      const best = this.state.bestMetric;
      const improved =
        best === null || (earlyStopping.mode === 'max' ? v > best + minDelta : v < best - minDelta);
      if (improved) {
        this.state.bestMetric = v;
        this.state.badEvals = 0;
      } else if (++this.state.badEvals >= earlyStopping.patience) {
        this.state.shouldStop = true;
        this.progress?.log(
          `early stopping at step ${this.state.step}: '${earlyStopping.metric}' did not improve for ${earlyStopping.patience} evals`,
        );
      }
    }
    await this.callbacks((cb) => cb.onEvalEnd?.(this, logs));
  }

  private optimizerStep(): number | undefined {
    const { optimizer, scheduler, maxGradNorm } = this.options;
    let gradNorm: number | undefined;
    if (maxGradNorm !== undefined)
      gradNorm = clipGradNorm(
        optimizer.paramGroups.flatMap((g) => g.params),
        maxGradNorm,
      );
    optimizer.step();
    optimizer.zeroGrad();
    this.options.ema?.update();
    if (scheduler && !(scheduler instanceof ReduceLROnPlateau)) scheduler.step();
    this.state.step++;
    return gradNorm;
  }

  /**
   * Trains until `maxSteps` / `maxEpochs`, early stopping or `state.shouldStop`. With
   * `{ resume: true }` it first loads the newest intact checkpoint (if any) and continues exactly
   * where that run stopped.
   */
  async train(options: { resume?: boolean } = {}): Promise<TrainResult> {
    let resumedFrom: number | null = null;
    if (options.resume) resumedFrom = await this.resume();
    else await this.resetJsonl();
    const { maxSteps, trainData, evalData, evalEvery } = this.options;
    const total =
      maxSteps ??
      (trainData.length !== undefined && Number.isFinite(this.maxEpochs)
        ? Math.ceil((trainData.length * this.maxEpochs) / this.accumulation)
        : 0);
    this.progress = createProgress(this.options.progress ?? 'auto', this.options.logEvery ?? 10, (l) =>
      this.log(l),
    );
    this.progress.start(total, this.state.step);
    this.options.model.train();
    await this.callbacks((cb) => cb.onTrainBegin?.(this));
    this.lastSavedStep = -1;
    try {
      while (this.state.epoch < this.maxEpochs && !this.done()) {
        const fromLoaderState = this.resumedWithLoaderState;
        const skip = fromLoaderState ? 0 : this.state.batchInEpoch;
        // Also when resuming mid-epoch by skipping: the epoch's order must be re-derived.
        if (!fromLoaderState) trainData.setEpoch?.(this.state.epoch);
        this.resumedWithLoaderState = false;
        await this.callbacks((cb) => cb.onEpochBegin?.(this, this.state.epoch));
        let seen = 0;
        let micro = 0;
        let windowTotal = 0;
        let brokeOut = false;
        const windowLosses: Record<string, number> = {};
        let mark = creationMark();
        for await (const batch of trainData) {
          try {
            if (seen++ < skip) continue;
            const { total: t, losses } = this.trainBatch(batch);
            this.state.batchInEpoch++;
            micro++;
            windowTotal += t;
            for (const [k, v] of Object.entries(losses)) windowLosses[k] = (windowLosses[k] ?? 0) + v;
            if (micro < this.accumulation) continue;
            await this.finishStep(micro, windowTotal, windowLosses);
            micro = 0;
            windowTotal = 0;
            for (const k of Object.keys(windowLosses)) delete windowLosses[k];
            if (await this.afterStep()) {
              brokeOut = true;
              break;
            }
          } finally {
            releaseBatch(batch, mark);
            mark = creationMark();
          }
        }
        if (brokeOut) break;
        // A one-shot iterable (e.g. a spent async generator) would otherwise spin forever.
        if (seen === 0 && !fromLoaderState)
          throw new ArgumentError(
            'Trainer',
            `trainData yielded no batches in epoch ${this.state.epoch}; pass a re-iterable source (an array, a DataLoader)`,
          );
        // A partial accumulation window at the end of an epoch still updates the weights (its loss
        // was scaled by 1/accumulation like a full window's, as in Hugging Face's Trainer); its
        // checkpoint is taken after the epoch counter advances, matching the loader's position.
        const partial = micro > 0;
        if (partial) await this.finishStep(micro, windowTotal, windowLosses);
        this.state.epoch++;
        this.state.batchInEpoch = 0;
        await this.callbacks((cb) => cb.onEpochEnd?.(this, this.state.epoch - 1));
        if (evalData && !evalEvery) await this.evalAndTrack();
        if (partial) await this.afterStep();
      }
    } finally {
      this.progress.stop();
    }
    if (this.store && this.lastSavedStep !== this.state.step) await this.saveCheckpoint();
    const result: TrainResult = {
      state: { ...this.state },
      stoppedEarly: this.state.shouldStop,
      resumedFrom,
      history: this.history,
    };
    const reportPath = await this.writeReport();
    if (reportPath) result.reportPath = reportPath;
    await this.callbacks((cb) => cb.onTrainEnd?.(this, result));
    return result;
  }

  private done(): boolean {
    const { maxSteps } = this.options;
    return this.state.shouldStop || (maxSteps !== undefined && this.state.step >= maxSteps);
  }

  /** Periodic eval and checkpoint after an optimizer step; returns whether training should end. */
  private async afterStep(): Promise<boolean> {
    const { evalData, evalEvery, checkpointEvery } = this.options;
    if (evalData && evalEvery && this.state.step % evalEvery === 0) await this.evalAndTrack();
    if (checkpointEvery && this.state.step % checkpointEvery === 0) {
      await this.saveCheckpoint();
      this.lastSavedStep = this.state.step;
    }
    return this.done();
  }

  private async finishStep(
    micro: number,
    windowTotal: number,
    windowLosses: Record<string, number>,
  ): Promise<void> {
    const gradNorm = this.optimizerStep();
    const logs: StepLogs = {
      step: this.state.step,
      epoch: this.state.epoch,
      lr: this.options.optimizer.paramGroups[0]!.lr,
      loss: windowTotal / micro,
      losses: Object.fromEntries(Object.entries(windowLosses).map(([k, v]) => [k, v / micro])),
    };
    if (gradNorm !== undefined) logs.gradNorm = gradNorm;
    this.history.train.push(logs);
    await this.appendJsonl({ type: 'train', ...logs });
    this.progress?.update(this.state.step, { loss: logs.loss, lr: logs.lr });
    await this.callbacks((cb) => cb.onStepEnd?.(this, logs));
  }

  // ---- checkpoints ------------------------------------------------------------------------------

  /** Writes a checkpoint of everything needed to resume; returns its directory. */
  async saveCheckpoint(): Promise<string> {
    if (!this.store) throw new ArgumentError('Trainer.saveCheckpoint', 'no checkpointDir was given');
    const { model, optimizer, scheduler, trainData, generators, ema } = this.options;
    const osd = optimizer.stateDict();
    const stateTensors: Record<string, Tensor> = {};
    const scalars: Record<string, Record<string, number>> = {};
    for (const [idx, s] of Object.entries(osd.state)) {
      for (const [name, v] of Object.entries(s)) {
        if (typeof v === 'number') (scalars[idx] ??= {})[name] = v;
        else stateTensors[`${idx}.${name}`] = v;
      }
    }
    const json: TrainerJson = {
      state: { ...this.state, shouldStop: false },
      optimizer: { paramGroups: osd.paramGroups, scalars },
      scheduler: scheduler?.stateDict() ?? null,
      loader: trainData.stateDict?.() ?? null,
      rng: {
        default: getDefaultGenerator().getState(),
        generators: (generators ?? []).map((g) => g.getState()),
        model: Object.fromEntries(this.modelGenerators().map(([name, g]) => [name, g.getState()])),
      },
      ema: ema ? { numUpdates: ema.numUpdates } : null,
    };
    const files: Record<string, Uint8Array> = {};
    if (ema)
      files['ema.safetensors'] = serializeSafetensors(
        Object.fromEntries(ema.shadowParams().map((t, i) => [String(i), t])),
      );
    const path = await this.store.save(this.state.step, {
      'model.safetensors': serializeSafetensors(model.stateDict()),
      'optimizer.safetensors': serializeSafetensors(stateTensors),
      'trainer.json': new TextEncoder().encode(JSON.stringify(json)),
      ...files,
    });
    await this.callbacks((cb) => cb.onCheckpoint?.(this, path));
    return path;
  }

  /** Loads the newest intact checkpoint; returns its step, or null when there is none. */
  async resume(): Promise<number | null> {
    if (!this.store) throw new ArgumentError('Trainer.resume', 'no checkpointDir was given');
    const ckpt = await this.store.loadLatest(
      (step, e) => this.log(`skipping checkpoint ${step}: ${e.message}`),
      {
        requiredFiles: ['model.safetensors', 'optimizer.safetensors', 'trainer.json'],
      },
    );
    if (!ckpt) {
      await this.resetJsonl();
      return null;
    }
    this.restore(ckpt);
    await this.reloadHistory(ckpt.step);
    this.log(`resumed from ${ckpt.path} (step ${ckpt.step})`);
    return ckpt.step;
  }

  private restore(ckpt: LoadedCheckpoint): void {
    const { model, optimizer, scheduler, trainData, generators, ema } = this.options;
    const json = JSON.parse(new TextDecoder().decode(ckpt.files['trainer.json'])) as TrainerJson;
    const modelTensors = deserializeSafetensors(ckpt.files['model.safetensors']!).tensors;
    model.loadStateDict(modelTensors);
    for (const t of Object.values(modelTensors)) t.dispose();
    const optTensors = deserializeSafetensors(ckpt.files['optimizer.safetensors']!).tensors;
    const state: Record<number, ParamState> = {};
    for (const [idx, s] of Object.entries(json.optimizer.scalars)) state[Number(idx)] = { ...s };
    for (const [key, t] of Object.entries(optTensors)) {
      const dot = key.indexOf('.');
      const idx = Number(key.slice(0, dot));
      (state[idx] ??= {})[key.slice(dot + 1)] = t;
    }
    optimizer.loadStateDict({ state, paramGroups: json.optimizer.paramGroups });
    for (const t of Object.values(optTensors)) t.dispose();
    if (scheduler && json.scheduler) scheduler.loadStateDict(json.scheduler);
    const emaBytes = ckpt.files['ema.safetensors'];
    if (ema && json.ema && emaBytes) {
      const shadow = deserializeSafetensors(emaBytes).tensors;
      const list = Object.keys(shadow)
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => shadow[k]!);
      ema.loadStateDict({ numUpdates: json.ema.numUpdates, shadow: list });
      for (const t of list) t.dispose();
    }
    if (json.loader !== null && trainData.loadStateDict) {
      (trainData.loadStateDict as (s: unknown) => void)(json.loader);
      this.resumedWithLoaderState = true;
    }
    getDefaultGenerator().setState(json.rng.default);
    (generators ?? []).forEach((g, i) => {
      const s = json.rng.generators[i];
      if (s) g.setState(s);
    });
    const saved = json.rng.model;
    if (saved) {
      const own = this.modelGenerators();
      for (const [name, g] of own) {
        const s = saved[name];
        if (s) g.setState(s);
        else this.log(`checkpoint has no state for the model's generator '${name}': it starts fresh`);
      }
      const names = new Set(own.map(([n]) => n));
      for (const name of Object.keys(saved))
        if (!names.has(name))
          this.log(`checkpoint has state for a generator '${name}' the model does not have`);
    }
    Object.assign(this.state, json.state);
  }

  /** The model's generators by name, without the default one (saved on its own). */
  private modelGenerators(): [string, Generator][] {
    const fallback = getDefaultGenerator();
    return this.options.model.namedGenerators().filter(([, g]) => g !== fallback);
  }

  // ---- logs and report -------------------------------------------------------------------------

  private async jsonlPath(): Promise<string | null> {
    if (!this.options.outputDir) return null;
    const { join } = await import('node:path');
    return join(this.options.outputDir, 'metrics.jsonl');
  }

  private async resetJsonl(): Promise<void> {
    const path = await this.jsonlPath();
    if (!path) return;
    const fs = await import('node:fs/promises');
    await fs.mkdir(this.options.outputDir!, { recursive: true });
    await fs.writeFile(path, '');
  }

  private async appendJsonl(record: object): Promise<void> {
    const path = await this.jsonlPath();
    if (!path) return;
    const fs = await import('node:fs/promises');
    await fs.appendFile(path, `${JSON.stringify({ ...record, time: Date.now() })}\n`);
  }

  /** After a resume: keep the log lines up to the checkpoint's step (drop the lost tail). */
  private async reloadHistory(step: number): Promise<void> {
    const path = await this.jsonlPath();
    this.history.train.length = 0;
    this.history.eval.length = 0;
    if (!path) return;
    const fs = await import('node:fs/promises');
    let text = '';
    try {
      text = await fs.readFile(path, 'utf8');
    } catch {
      await this.resetJsonl();
      return;
    }
    const kept: string[] = [];
    for (const line of text.split('\n')) {
      let rec: { type?: string; step?: number; time?: number } & Record<string, unknown>;
      try {
        rec = JSON.parse(line);
      } catch {
        continue; // a line cut by the crash
      }
      if (typeof rec.step !== 'number' || rec.step > step) continue;
      kept.push(line);
      const { type, time: _time, ...rest } = rec;
      if (type === 'train') this.history.train.push(rest as unknown as StepLogs);
      else if (type === 'eval') this.history.eval.push(rest as unknown as EvalLogs);
    }
    await fs.writeFile(path, kept.length ? `${kept.join('\n')}\n` : '');
  }

  /** Writes report.svg (+ metrics.svg) and report.html into outputDir; returns the HTML path. */
  private async writeReport(): Promise<string | undefined> {
    const dir = this.options.outputDir;
    if (!dir) return undefined;
    const fs = await import('node:fs/promises');
    const { join } = await import('node:path');
    await fs.mkdir(dir, { recursive: true });
    const lossSeries: Series[] = [
      { name: 'train loss', points: this.history.train.map((l) => [l.step, l.loss]) },
    ];
    const taskNames = new Set(this.history.train.flatMap((l) => Object.keys(l.losses)));
    if (taskNames.size > 1)
      for (const name of taskNames)
        lossSeries.push({
          name: `train ${name}`,
          points: this.history.train.map((l) => [l.step, l.losses[name] ?? Number.NaN]),
        });
    if (this.history.eval.length)
      lossSeries.push({
        name: 'eval loss',
        points: this.history.eval.map((l) => [l.step, l.metrics.loss ?? Number.NaN]),
      });
    const lossSvg = lineChartSvg('loss', lossSeries);
    await fs.writeFile(join(dir, 'report.svg'), lossSvg);
    const charts = [lossSvg];
    const metricNames = new Set(
      this.history.eval.flatMap((l) => Object.keys(l.metrics).filter((k) => !k.startsWith('loss'))),
    );
    if (metricNames.size) {
      const svg = lineChartSvg(
        'eval metrics',
        [...metricNames].map((name) => ({
          name,
          points: this.history.eval.map((l) => [l.step, l.metrics[name] ?? Number.NaN] as [number, number]),
        })),
      );
      await fs.writeFile(join(dir, 'metrics.svg'), svg);
      charts.push(svg);
    }
    const last = this.history.train.at(-1);
    const summary: Record<string, string | number> = {
      steps: this.state.step,
      epochs: this.state.epoch,
      'final train loss': last ? last.loss.toFixed(5) : 'n/a',
    };
    const lastEval = this.history.eval.at(-1);
    if (lastEval)
      for (const [k, v] of Object.entries(lastEval.metrics)) summary[`final eval ${k}`] = v.toFixed(5);
    if (this.state.bestMetric !== null) summary['best watched metric'] = this.state.bestMetric.toFixed(5);
    const htmlPath = join(dir, 'report.html');
    await fs.writeFile(htmlPath, reportHtml('Training report', charts, summary));
    return htmlPath;
  }
}

/**
 * Frees the tensors of `batch` that its source made after `mark` (while producing it): the step
 * that used them is over. Tensors made before (an array of batches the user built) are left alone.
 */
function releaseBatch(batch: unknown, mark: number): void {
  for (const t of tensorsIn(batch, { since: mark })) t.dispose();
}
