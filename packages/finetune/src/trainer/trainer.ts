import { Module, withEval } from '@polymodal/nn';
import {
  ArgumentError,
  cat,
  checkPositiveInt,
  creationMark,
  type Generator,
  isAnomalyEnabled,
  keep,
  noGrad,
  scope,
  Tensor,
  tensorsIn,
} from '@polymodal/tensor';
import type { Optimizer } from '../optim/optimizer.js';
import type { Scheduler } from '../schedulers/lr-scheduler.js';
import { ReduceLROnPlateau } from '../schedulers/reduce-lr-on-plateau.js';
import { clipGradNormTensor } from '../training/clip-grad-norm.js';
import type { ExponentialMovingAverage } from '../training/ema.js';
import { GradientAccumulator } from '../training/gradient-accumulator.js';
import {
  loadTrainingState,
  saveTrainingState,
  TRAINING_STATE_FILES,
  type TrainingParts,
} from '../training/training-state.js';
import type { TrainerCallback, TrainerContext } from './callback.js';
import type { CheckpointStorage } from './checkpoint-storage.js';
import { defaultCallbacks, refuseFileSystemShorthands } from './default-callbacks.js';
import { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
import type { ProgressMode } from './progress.js';
import { StepLogBuffer } from './step-log-buffer.js';
import type {
  Batches,
  EvalLogs,
  LossOutput,
  StepEnd,
  TrainerState,
  TrainHistory,
  TrainResult,
} from './trainer-types.js';

export interface TrainerOptions<B, M extends Module = Module> {
  model: M;
  optimizer: Optimizer;
  /** Stepped after every optimizer step; a `ReduceLROnPlateau` is stepped after each eval instead. */
  scheduler?: Scheduler;
  /** Forward pass and loss(es) for one batch, with the model as its own type. Runs inside `scope`. */
  computeLoss: (model: M, batch: B) => LossOutput;
  /** Weights of named losses in the total (default 1 each). */
  lossWeights?: Record<string, number>;
  trainData: Batches<B>;
  evalData?: Batches<B>;
  /** Metrics hook: numbers per eval batch, averaged over the eval set. Runs under `noGrad`. */
  computeMetrics?: (model: M, batch: B) => Record<string, number>;
  /** Stop after this many epochs (default 1 unless maxSteps is given). */
  maxEpochs?: number;
  /** Stop after this many optimizer steps. */
  maxSteps?: number;
  gradientAccumulationSteps?: number;
  /** Clip the global gradient 2-norm to this before each optimizer step (on the device). */
  maxGradNorm?: number;
  /** Evaluate every N optimizer steps (default: at the end of each epoch). */
  evalEvery?: number;
  /** Shorthand for an `EarlyStopping` callback. */
  earlyStopping?: EarlyStoppingOptions;
  /**
   * Directory for checkpoints (`checkpoint-<step>/`), with the Trainer of `@polymodal/finetune/node`;
   * none are written without it or a `store`.
   */
  checkpointDir?: string;
  /** Where checkpoints go instead of `checkpointDir` (any runtime: IndexedDB, OPFS, memory). */
  store?: CheckpointStorage;
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
  /**
   * Shorthand for a `MetricsLog` (`metrics.jsonl`) and a `TrainingReport` (`report.svg`,
   * `report.html`) here, with the Trainer of `@polymodal/finetune/node`.
   */
  outputDir?: string;
  /**
   * Shorthand for a `ProgressCallback`: 'auto' (default) log lines (a bar on a TTY with the Node
   * Trainer), 'log', 'none', or a function that hears every step.
   */
  progress?: ProgressMode;
  /**
   * Optimizer steps between reads of the losses (default 10): each step's losses stay on the device
   * and are read back to the host in one read per period (and before an eval, a checkpoint and the
   * end), then logged, checked for NaN and passed to `onLog`. Also the progress log-line period.
   */
  logEvery?: number;
  /** Where log lines go (default console.log). */
  log?: (line: string) => void;
  /**
   * Read each micro-batch's loss before its backward pass and stop at the first NaN/∞, before it
   * reaches the weights (a device sync per micro-batch; skipped on backends that cannot read
   * synchronously). Default: on in anomaly mode (`withAnomalyMode` from `@polymodal/tensor`);
   * otherwise a non-finite loss is caught when its log period is read.
   */
  detectAnomaly?: boolean;
  /** Callbacks, after the built-in ones the shorthand options add. */
  callbacks?: TrainerCallback<B, M>[];
}

/**
 * A training loop for fine-tuning, shaped like Hugging Face's Trainer and Lightning: the loop
 * (multi-task losses, gradient accumulation and clipping, per-step LR scheduling, periodic
 * evaluation with a metrics hook, crash-safe checkpoints with exact `resume`) plus callbacks for
 * everything else. Built-in callbacks, also usable on their own: `ProgressCallback`,
 * `EarlyStopping`, and from `@polymodal/finetune/node` `MetricsLog` (JSONL), `TrainingReport`
 * (SVG/HTML); the options `progress`, `earlyStopping` and (Node) `outputDir` add them. Checkpoints
 * hold what `saveTrainingState` captures (model, optimizer, scheduler, loader position, every RNG,
 * EMA, counters), written to a `store` or, with the Trainer of `@polymodal/finetune/node`, to a
 * `CheckpointStore` in `checkpointDir` (atomic, checksummed, the last K kept). This Trainer runs
 * anywhere (browser, worker, Node) and touches no file system.
 *
 * Losses stay on the device: a step reads nothing back to the host; the losses of each log period
 * are read in one go (`logEvery`), so a GPU is not waited for every step.
 *
 * ```ts
 * import { Trainer } from '@polymodal/finetune/node'; // in a browser: '@polymodal/finetune' with a `store`
 * const trainer = new Trainer({
 *   model, optimizer, scheduler: getScheduler('cosine', optimizer, { numWarmupSteps: 100, numTrainingSteps: 2000 }),
 *   computeLoss: (m, b) => ({ itc: contrastive(m, b), captioning: lm(m, b) }), // m: the model's own type
 *   lossWeights: { captioning: 0.5 },
 *   trainData: loader, evalData: valLoader, maxSteps: 2000, evalEvery: 200,
 *   checkpointDir: 'runs/a/ckpt', checkpointEvery: 100, outputDir: 'runs/a',
 *   callbacks: [new EarlyStopping({ metric: 'loss', patience: 3 })],
 * });
 * await trainer.train({ resume: true });
 * ```
 */
export class Trainer<B, M extends Module = Module> implements TrainerContext {
  readonly state: TrainerState = {
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    shouldStop: false,
    bestMetric: null,
    badEvals: 0,
  };
  readonly history: TrainHistory = { train: [], eval: [] };
  readonly store: CheckpointStorage | null;
  /** The callbacks in the order they run: the built-in ones from the shorthand options, then the given ones. */
  readonly callbacks: readonly TrainerCallback<B, M>[];
  readonly logEvery: number;
  resumedFrom: number | null = null;
  private readonly accumulator: GradientAccumulator;
  private resumedWithLoaderState = false;
  private lastSavedStep = -1;
  /** Names of the losses `computeLoss` returns, fixed by the first batch. */
  private lossNames: string[] | null = null;
  /** Micro-batches in the current accumulation window, and the sum of their [total, …named] losses. */
  private micro = 0;
  private window: Tensor | null = null;
  /** The losses of the steps since the last read, on the device. */
  private readonly pending: StepLogBuffer;

  constructor(readonly options: TrainerOptions<B, M>) {
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
    const accumulation = options.gradientAccumulationSteps ?? 1;
    checkPositiveInt('Trainer', 'gradientAccumulationSteps', accumulation);
    this.accumulator = new GradientAccumulator(accumulation);
    for (const key of ['maxSteps', 'maxEpochs', 'evalEvery', 'checkpointEvery', 'logEvery'] as const) {
      const v = options[key];
      if (v !== undefined) checkPositiveInt('Trainer', key, v);
    }
    this.logEvery = options.logEvery ?? 10;
    this.pending = new StepLogBuffer(this.logEvery);
    if (options.checkpointEvery !== undefined && !options.checkpointDir && !options.store)
      throw new ArgumentError('Trainer', 'checkpointEvery needs a checkpointDir or a store');
    const given = options.callbacks ?? [];
    if (!Array.isArray(given) || given.some((cb) => cb === null || typeof cb !== 'object'))
      throw new ArgumentError('Trainer', 'callbacks must be an array of callback objects');
    if ((options.earlyStopping || given.some((cb) => cb instanceof EarlyStopping)) && !options.evalData)
      throw new ArgumentError('Trainer', 'earlyStopping needs evalData');
    this.callbacks = [...(this.builtinCallbacks(options, given) as TrainerCallback<B, M>[]), ...given];
    this.store = this.checkpointStore(options);
  }

  /**
   * The built-in callbacks the shorthand options stand for (progress, early stopping); the Node
   * Trainer adds the file-writing ones for `outputDir`.
   */
  protected builtinCallbacks(options: TrainerOptions<B, M>, given: readonly unknown[]): unknown[] {
    refuseFileSystemShorthands({ ...options, checkpointDir: undefined });
    return defaultCallbacks(options, given);
  }

  /** The checkpoint store: the given `store`; `checkpointDir` needs the Node Trainer. */
  protected checkpointStore(options: TrainerOptions<B, M>): CheckpointStorage | null {
    if (options.store) return options.store;
    refuseFileSystemShorthands({ checkpointDir: options.checkpointDir });
    return null;
  }

  get model(): M {
    return this.options.model;
  }

  /** Optimizer steps this run aims at: `maxSteps`, or epochs × batches / accumulation; 0 if unknown. */
  get totalSteps(): number {
    const { maxSteps, trainData } = this.options;
    if (maxSteps !== undefined) return maxSteps;
    return trainData.length !== undefined && Number.isFinite(this.maxEpochs)
      ? Math.ceil((trainData.length * this.maxEpochs) / this.accumulator.steps)
      : 0;
  }

  private get maxEpochs(): number {
    return this.options.maxEpochs ?? (this.options.maxSteps !== undefined ? Number.POSITIVE_INFINITY : 1);
  }

  log(line: string): void {
    (this.options.log ?? console.log)(line);
  }

  private async emit(fn: (cb: TrainerCallback<B, M>) => void | Promise<void>): Promise<void> {
    for (const cb of this.callbacks) await fn(cb);
  }

  // ---- one step ---------------------------------------------------------------------------------

  private namedLosses(batch: B): Record<string, Tensor> {
    const out = this.options.computeLoss(this.options.model, batch);
    if (out instanceof Tensor) return { loss: out };
    if (out === null || typeof out !== 'object' || Object.keys(out).length === 0)
      throw new ArgumentError('Trainer', 'computeLoss returned no losses');
    return out;
  }

  /** The loss names, the same for every batch (their columns in the logs on the device). */
  private checkLossNames(names: string[]): void {
    if (this.lossNames === null) this.lossNames = names;
    else if (names.length !== this.lossNames.length || names.some((n, i) => n !== this.lossNames![i]))
      throw new ArgumentError(
        'Trainer',
        `computeLoss returned losses [${names.join(', ')}] at step ${this.state.step + 1}, earlier [${this.lossNames.join(', ')}]; return the same named losses for every batch (a zero for a task a batch lacks)`,
      );
  }

  /**
   * One micro-batch: forward, the weighted loss sum, backward of `total / accumulation`; its losses
   * are added to the window on the device. Returns whether the window is complete.
   */
  private trainBatch(batch: B): boolean {
    return scope(() => {
      const named = this.namedLosses(batch);
      const names = Object.keys(named);
      let total: Tensor | null = null;
      for (const name of names) {
        const t = named[name]!;
        if (!(t instanceof Tensor))
          throw new ArgumentError('Trainer', `loss '${name}' must be a Tensor, got ${typeof t}`);
        if (t.size !== 1)
          throw new ArgumentError('Trainer', `loss '${name}' must be a scalar, got shape [${t.shape}]`);
        const w = this.options.lossWeights?.[name] ?? 1;
        if (w !== 0) total = total ? total.add(t.mul(w)) : t.mul(w);
      }
      if (!total) throw new ArgumentError('Trainer', 'computeLoss returned no loss with a nonzero weight');
      this.checkLossNames(names);
      const check = (this.options.detectAnomaly ?? isAnomalyEnabled()) || !total.requiresGrad;
      if (check && total.backend.supportsSyncRead) {
        const value = total.item();
        if (!Number.isFinite(value)) this.throwNonFinite(value, this.state.step + 1, names, named);
      }
      // About to fail anyway (nothing to backpropagate into): the read above named a NaN first.
      if (!total.requiresGrad)
        throw new ArgumentError(
          'Trainer',
          'the loss does not require grad: computeLoss must use the model (are all its parameters frozen?)',
        );
      const values = noGrad(() => cat([total, ...names.map((n) => named[n]!)].map((t) => t.reshape([1]))));
      const complete = this.accumulator.backward(total);
      const previous = this.window;
      this.window = keep(previous ? noGrad(() => previous.add(values)) : values);
      previous?.dispose();
      this.micro++;
      return complete;
    });
  }

  private throwNonFinite(
    value: number,
    step: number,
    names: string[],
    losses: Record<string, Tensor | number>,
  ): never {
    const parts = Object.fromEntries(
      names.map((n) => {
        const v = losses[n]!;
        return [n, typeof v === 'number' ? v : v.item()];
      }),
    );
    throw new ArgumentError('Trainer', `loss is ${value} at step ${step} (${JSON.stringify(parts)})`);
  }

  /** Clips, steps the optimizer, EMA and scheduler; queues the window's losses for the next read. */
  private async finishStep(): Promise<void> {
    // Reads happen every `logEvery` steps, so the buffer has room; this only guards the invariant.
    if (this.pending.size >= this.logEvery) await this.flushLogs();
    const { optimizer, scheduler, maxGradNorm, ema } = this.options;
    const gradNorm =
      maxGradNorm !== undefined
        ? clipGradNormTensor(
            optimizer.paramGroups.flatMap((g) => g.params),
            maxGradNorm,
          )
        : null;
    optimizer.step();
    optimizer.zeroGrad();
    ema?.update();
    if (scheduler && !(scheduler instanceof ReduceLROnPlateau)) scheduler.step();
    this.state.step++;
    const window = this.window!;
    const micro = this.micro;
    this.window = null;
    this.micro = 0;
    const end: StepEnd = {
      step: this.state.step,
      epoch: this.state.epoch,
      lr: optimizer.paramGroups[0]!.lr,
    };
    noGrad(() =>
      scope(() => {
        const row = micro === 1 ? window : window.div(micro);
        this.pending.push(end, gradNorm ? cat([row, gradNorm.reshape([1])]) : row);
      }),
    );
    window.dispose();
    gradNorm?.dispose();
    await this.emit((cb) => cb.onStepEnd?.(this, end));
  }

  /**
   * Reads the queued steps' losses back to the host in one read, checks them for NaN/∞, adds them to
   * the history and passes them to `onLog`.
   */
  async flushLogs(): Promise<void> {
    if (this.pending.size === 0) return;
    const names = this.lossNames ?? [];
    const logs = await this.pending.read(names);
    const bad = logs.find((l) => !Number.isFinite(l.loss));
    if (bad) this.throwNonFinite(bad.loss, bad.step, names, bad.losses);
    this.history.train.push(...logs);
    await this.emit((cb) => cb.onLog?.(this, logs));
  }

  /** Drops queued losses without reading them (after an error). */
  private discardPending(): void {
    this.pending.clear();
    this.window?.dispose();
    this.window = null;
    this.micro = 0;
    this.accumulator.reset();
  }

  // ---- evaluation ------------------------------------------------------------------------------

  /**
   * Runs the eval set under `noGrad` in eval mode (`withEval`: every module's own mode comes back
   * after); returns averaged losses and metrics.
   */
  async evaluate(): Promise<Record<string, number>> {
    const data = this.options.evalData;
    if (!data) throw new ArgumentError('Trainer.evaluate', 'no evalData');
    const { model } = this.options;
    return withEval(model, async () => {
      this.options.ema?.applyTo();
      // Losses are summed on the device and read once; the metrics hook returns host numbers.
      let lossSums: Tensor | null = null;
      let names: string[] = [];
      const metricSums: Record<string, number> = {};
      let n = 0;
      try {
        let mark = creationMark();
        for await (const batch of data) {
          try {
            noGrad(() =>
              scope(() => {
                const named = this.namedLosses(batch);
                const keys = Object.keys(named);
                if (n > 0 && keys.join('\u0000') !== names.join('\u0000'))
                  throw new ArgumentError(
                    'Trainer.evaluate',
                    `computeLoss returned losses [${keys.join(', ')}] for eval batch ${n + 1}, earlier [${names.join(', ')}]`,
                  );
                names = keys;
                const row = cat(names.map((k) => named[k]!.reshape([1])));
                const previous = lossSums;
                lossSums = keep(previous ? previous.add(row) : row);
                previous?.dispose();
                for (const [k, v] of Object.entries(this.options.computeMetrics?.(model, batch) ?? {}))
                  metricSums[k] = (metricSums[k] ?? 0) + v;
              }),
            );
          } finally {
            releaseBatch(batch, mark);
            mark = creationMark();
          }
          n++;
        }
        const out: Record<string, number> = {};
        const sums = lossSums as Tensor | null;
        if (sums) {
          const values = await sums.data();
          let total = 0;
          names.forEach((name, i) => {
            const v = values[i]! / n;
            total += (this.options.lossWeights?.[name] ?? 1) * v;
            if (names.length > 1) out[`loss/${name}`] = v;
          });
          out.loss = total;
        }
        for (const [k, v] of Object.entries(metricSums)) out[k] = v / Math.max(1, n);
        return out;
      } finally {
        (lossSums as Tensor | null)?.dispose();
        this.options.ema?.restore();
      }
    });
  }

  private async evalAndTrack(): Promise<void> {
    await this.flushLogs();
    const metrics = await this.evaluate();
    const logs: EvalLogs = { step: this.state.step, epoch: this.state.epoch, metrics };
    this.history.eval.push(logs);
    const { scheduler } = this.options;
    if (scheduler instanceof ReduceLROnPlateau) {
      const stopper = this.callbacks.find((cb) => cb instanceof EarlyStopping) as EarlyStopping | undefined;
      const watched = stopper?.metric ?? 'loss';
      const v = metrics[watched];
      if (v === undefined)
        throw new ArgumentError('Trainer', `eval produced no metric '${watched}' for ReduceLROnPlateau`);
      scheduler.step(v);
    }
    await this.emit((cb) => cb.onEvalEnd?.(this, logs));
  }

  // ---- the loop --------------------------------------------------------------------------------

  /**
   * Trains until `maxSteps` / `maxEpochs`, early stopping or `state.shouldStop`. With
   * `{ resume: true }` it first loads the newest intact checkpoint (if any) and continues exactly
   * where that run stopped.
   */
  async train(options: { resume?: boolean } = {}): Promise<TrainResult> {
    this.resumedFrom = options.resume ? await this.resume() : null;
    this.options.model.train();
    try {
      await this.emit((cb) => cb.onTrainBegin?.(this));
      this.lastSavedStep = -1;
      await this.loop();
      await this.flushLogs();
      if (this.store && this.lastSavedStep !== this.state.step) await this.saveCheckpoint();
      const result: TrainResult = {
        state: { ...this.state },
        stoppedEarly: this.state.shouldStop,
        resumedFrom: this.resumedFrom,
        history: this.history,
      };
      await this.emit((cb) => cb.onTrainEnd?.(this, result));
      return result;
    } catch (e) {
      // Let every callback clean up (a progress bar, open files); the first error is what throws.
      for (const cb of this.callbacks) {
        try {
          await cb.onException?.(this, e);
        } catch {
          // ignored: the training error matters more
        }
      }
      throw e;
    } finally {
      this.discardPending();
    }
  }

  private async loop(): Promise<void> {
    const { trainData, evalData, evalEvery } = this.options;
    while (this.state.epoch < this.maxEpochs && !this.done()) {
      const fromLoaderState = this.resumedWithLoaderState;
      const skip = fromLoaderState ? 0 : this.state.batchInEpoch;
      // Also when resuming mid-epoch by skipping: the epoch's order must be re-derived.
      if (!fromLoaderState) trainData.setEpoch?.(this.state.epoch);
      this.resumedWithLoaderState = false;
      await this.emit((cb) => cb.onEpochBegin?.(this, this.state.epoch));
      let seen = 0;
      let mark = creationMark();
      for await (const batch of trainData) {
        try {
          if (seen++ < skip) continue;
          const complete = this.trainBatch(batch);
          this.state.batchInEpoch++;
          if (!complete) continue;
          await this.finishStep();
          if (await this.afterStep()) return;
        } finally {
          releaseBatch(batch, mark);
          mark = creationMark();
        }
      }
      // A one-shot iterable (e.g. a spent async generator) would otherwise spin forever.
      if (seen === 0 && !fromLoaderState)
        throw new ArgumentError(
          'Trainer',
          `trainData yielded no batches in epoch ${this.state.epoch}; pass a re-iterable source (an array, a DataLoader)`,
        );
      // A partial accumulation window at the end of an epoch still updates the weights (its loss
      // was scaled by 1/accumulation like a full window's, as in Hugging Face's Trainer); its
      // checkpoint is taken after the epoch counter advances, matching the loader's position.
      const partial = this.micro > 0;
      if (partial) {
        await this.finishStep();
        this.accumulator.reset();
      }
      this.state.epoch++;
      this.state.batchInEpoch = 0;
      await this.emit((cb) => cb.onEpochEnd?.(this, this.state.epoch - 1));
      if (evalData && !evalEvery) await this.evalAndTrack();
      if (partial) await this.afterStep();
    }
  }

  private done(): boolean {
    const { maxSteps } = this.options;
    return this.state.shouldStop || (maxSteps !== undefined && this.state.step >= maxSteps);
  }

  /** The log read, periodic eval and checkpoint after an optimizer step; returns whether to end. */
  private async afterStep(): Promise<boolean> {
    const { evalData, evalEvery, checkpointEvery } = this.options;
    if (this.state.step % this.logEvery === 0) await this.flushLogs();
    if (evalData && evalEvery && this.state.step % evalEvery === 0) await this.evalAndTrack();
    if (checkpointEvery && this.state.step % checkpointEvery === 0) {
      await this.saveCheckpoint();
      this.lastSavedStep = this.state.step;
    }
    return this.done();
  }

  // ---- checkpoints ------------------------------------------------------------------------------

  private get parts(): TrainingParts {
    const { model, optimizer, scheduler, trainData, generators, ema } = this.options;
    return {
      model,
      optimizer,
      scheduler: scheduler ?? null,
      loader: trainData,
      generators: generators ?? [],
      ema: ema ?? null,
    };
  }

  /**
   * Writes a checkpoint of everything needed to resume (`saveTrainingState`), after reading the
   * pending logs so that the metrics log holds every step up to it; returns its directory.
   */
  async saveCheckpoint(): Promise<string> {
    if (!this.store) throw new ArgumentError('Trainer.saveCheckpoint', 'no checkpointDir or store was given');
    await this.flushLogs();
    const path = await this.store.save(this.state.step, saveTrainingState(this.parts, this.state));
    await this.emit((cb) => cb.onCheckpoint?.(this, path));
    return path;
  }

  /** Loads the newest intact checkpoint; returns its step, or null when there is none. */
  async resume(): Promise<number | null> {
    if (!this.store) throw new ArgumentError('Trainer.resume', 'no checkpointDir or store was given');
    const ckpt = await this.store.loadLatest(
      (step, e) => this.log(`skipping checkpoint ${step}: ${e.message}`),
      {
        requiredFiles: TRAINING_STATE_FILES,
      },
    );
    if (!ckpt) return null;
    const { counters, loaderRestored } = loadTrainingState(this.parts, ckpt.files, {
      log: (l) => this.log(l),
    });
    Object.assign(this.state, counters);
    this.resumedWithLoaderState = loaderRestored;
    // The history of the steps before the checkpoint is the metrics log's to reload (MetricsLog).
    this.history.train.length = 0;
    this.history.eval.length = 0;
    this.log(`resumed from ${ckpt.path} (step ${ckpt.step})`);
    return ckpt.step;
  }
}

/**
 * Frees the tensors of `batch` that its source made after `mark` (while producing it): the step
 * that used them is over. Tensors made before (an array of batches the user built) are left alone.
 */
function releaseBatch(batch: unknown, mark: number): void {
  for (const t of tensorsIn(batch, { since: mark })) t.dispose();
}
