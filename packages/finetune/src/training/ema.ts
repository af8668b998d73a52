import { ArgumentError, keep, noGrad, scope, type Tensor } from '@polymodal/tensor';

export interface EmaOptions {
  /** Target decay (default 0.9999). */
  decay?: number;
  /**
   * Warm the decay up as `min(decay, (1 + n) / (10 + n))` over the first updates n (Tensorflow's
   * `ExponentialMovingAverage(num_updates)`, torch_ema's `use_num_updates`). Default true.
   */
  warmup?: boolean;
}

/**
 * Exponential moving average of weights (Polyak averaging), as in torch_ema / timm's ModelEma:
 * `shadow ← shadow − (1 − d)·(shadow − param)` after each optimizer step. `applyTo()` swaps the
 * averaged weights into the model for evaluation, `restore()` puts the training weights back.
 *
 * ```ts
 * const ema = new ExponentialMovingAverage(model.parameters(), { decay: 0.999 });
 * optimizer.step(); ema.update();
 * ema.applyTo(); evaluate(model); ema.restore();
 * ```
 */
export class ExponentialMovingAverage {
  readonly decay: number;
  readonly warmup: boolean;
  numUpdates = 0;
  private readonly params: Tensor[];
  private readonly shadow: Tensor[];
  private backup: Tensor[] | null = null;

  constructor(params: Iterable<Tensor>, options: EmaOptions = {}) {
    this.decay = options.decay ?? 0.9999;
    if (!(this.decay >= 0 && this.decay <= 1))
      throw new ArgumentError('ExponentialMovingAverage', `decay must lie in [0, 1], got ${this.decay}`);
    this.warmup = options.warmup ?? true;
    this.params = [...params];
    this.shadow = this.params.map((p) => keep(noGrad(() => p.detach().clone())));
  }

  /** The decay used by the next `update()`. */
  currentDecay(): number {
    const n = this.numUpdates + 1;
    return this.warmup ? Math.min(this.decay, (1 + n) / (10 + n)) : this.decay;
  }

  /** Moves the averages toward the current parameters. */
  update(): void {
    const d = this.currentDecay();
    this.numUpdates++;
    noGrad(() =>
      scope(() => {
        this.params.forEach((p, i) => {
          const s = this.shadow[i]!;
          s.assign(s.sub(s.sub(p).mul(1 - d)));
        });
      }),
    );
  }

  /** Copies the averages into the parameters, keeping the current values for `restore()`. */
  applyTo(): void {
    if (this.backup)
      throw new ArgumentError('ExponentialMovingAverage', 'applyTo called twice without restore');
    this.backup = this.params.map((p) => keep(noGrad(() => p.detach().clone())));
    noGrad(() =>
      this.params.forEach((p, i) => {
        p.assign(this.shadow[i]!);
      }),
    );
  }

  /** Puts back the values saved by `applyTo()`. */
  restore(): void {
    const backup = this.backup;
    if (!backup) throw new ArgumentError('ExponentialMovingAverage', 'restore called without applyTo');
    this.params.forEach((p, i) => {
      p.assign(backup[i]!);
      backup[i]!.dispose();
    });
    this.backup = null;
  }

  /** The averaged tensors (live; do not dispose). */
  shadowParams(): Tensor[] {
    return [...this.shadow];
  }

  stateDict(): { decay: number; numUpdates: number; shadow: Tensor[] } {
    return { decay: this.decay, numUpdates: this.numUpdates, shadow: [...this.shadow] };
  }

  loadStateDict(sd: { numUpdates: number; shadow: Tensor[] }): void {
    if (sd.shadow.length !== this.shadow.length)
      throw new ArgumentError(
        'ExponentialMovingAverage',
        `loadStateDict: ${sd.shadow.length} tensors given, ${this.shadow.length} tracked`,
      );
    this.numUpdates = sd.numUpdates;
    sd.shadow.forEach((t, i) => {
      this.shadow[i]!.assign(t);
    });
  }

  dispose(): void {
    for (const s of this.shadow) s.dispose();
    for (const b of this.backup ?? []) b.dispose();
  }
}
