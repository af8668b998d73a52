import {
  ArgumentError,
  checkPositiveInt,
  keep,
  noGrad,
  scope,
  type Tensor,
  tensor,
  where,
  zeros,
} from '@polymodal/tensor';
import type { StepEnd, StepLogs } from './trainer-types.js';

/**
 * The losses of the steps since the last read, kept on the device: row r of one fixed
 * `[capacity, width]` tensor holds step r's `[total, …named losses, gradNorm?]`. Writing a row is a
 * select (`where`), not arithmetic, so a NaN stays in its own row; the size never changes, so live
 * tensors and bytes stay flat from step to step. `read()` brings every row back in one read.
 *
 * ```ts
 * const buffer = new StepLogBuffer(10);
 * buffer.push({ step: 1, epoch: 0, lr: 0.1 }, stepLosses); // [1 + K] on the device
 * const logs = await buffer.read(['mse', 'l1']);           // StepLogs[], one read
 * ```
 */
export class StepLogBuffer {
  private rows: Tensor | null = null;
  private steps: StepEnd[] = [];

  constructor(readonly capacity: number) {
    checkPositiveInt('StepLogBuffer', 'capacity', capacity);
  }

  /** Steps waiting to be read. */
  get size(): number {
    return this.steps.length;
  }

  /** Queues one step's losses (`row`, `[width]`; not taken over: the caller frees it). */
  push(step: StepEnd, row: Tensor): void {
    const r = this.steps.length;
    if (r >= this.capacity)
      throw new ArgumentError('StepLogBuffer', `holds ${this.capacity} steps; read it first`);
    if (this.rows && this.rows.shape[1] !== row.size)
      throw new ArgumentError('StepLogBuffer', `row of ${row.size} values, earlier ${this.rows.shape[1]}`);
    noGrad(() =>
      scope(() => {
        const at = new Uint8Array(this.capacity);
        at[r] = 1;
        const previous = this.rows ?? zeros([this.capacity, row.size]);
        const next = where(
          tensor(at, { shape: [this.capacity, 1], dtype: 'bool' }),
          row.reshape([1, -1]),
          previous,
        );
        this.rows?.dispose();
        this.rows = keep(next);
      }),
    );
    this.steps.push(step);
  }

  /**
   * Reads the queued steps back to the host (one asynchronous read) and empties the buffer:
   * `names` label the columns after the total; a column past them is the gradient norm.
   */
  async read(names: readonly string[]): Promise<StepLogs[]> {
    const rows = this.rows;
    const steps = this.steps;
    this.rows = null;
    this.steps = [];
    if (!rows) return [];
    let values: ArrayLike<number>;
    try {
      values = await rows.data();
    } finally {
      rows.dispose();
    }
    const width = rows.shape[1]!;
    return steps.map((s, r) => {
      const at = r * width;
      const log: StepLogs = {
        ...s,
        loss: values[at]!,
        losses: Object.fromEntries(names.map((n, i) => [n, values[at + 1 + i]!])),
      };
      if (width > names.length + 1) log.gradNorm = values[at + names.length + 1]!;
      return log;
    });
  }

  /** Drops the queued steps unread. */
  clear(): void {
    this.rows?.dispose();
    this.rows = null;
    this.steps = [];
  }
}
