import type { TrainerCallback, TrainerContext } from './callback.js';
import type { EvalLogs, StepLogs } from './trainer-types.js';

/**
 * Appends every step's and evaluation's logs to a JSONL file (Node only: `node:fs`), one JSON
 * object a line: `{ type: 'train' | 'eval', step, epoch, …, time }`. A fresh run empties the file;
 * a resumed run keeps the lines up to the checkpoint's step, drops the tail the crash lost (and a
 * line it cut), and reloads them into `trainer.history`, so the history and the report cover the
 * whole run. The Trainer adds one for `outputDir`.
 *
 * ```ts
 * new Trainer({ …, callbacks: [new MetricsLog('runs/a')] }); // runs/a/metrics.jsonl
 * ```
 */
export class MetricsLog implements TrainerCallback {
  constructor(
    readonly dir: string,
    readonly fileName = 'metrics.jsonl',
  ) {}

  /** The file's path. */
  async path(): Promise<string> {
    const { join } = await import('node:path');
    return join(this.dir, this.fileName);
  }

  async onTrainBegin(trainer: TrainerContext): Promise<void> {
    if (trainer.resumedFrom === null) await this.reset();
    else await this.reload(trainer, trainer.resumedFrom);
  }

  async onLog(_trainer: TrainerContext, logs: readonly StepLogs[]): Promise<void> {
    await this.append(logs.map((l) => ({ type: 'train', ...l })));
  }

  async onEvalEnd(_trainer: TrainerContext, logs: EvalLogs): Promise<void> {
    await this.append([{ type: 'eval', ...logs }]);
  }

  private async reset(): Promise<void> {
    const fs = await import('node:fs/promises');
    await fs.mkdir(this.dir, { recursive: true });
    await fs.writeFile(await this.path(), '');
  }

  private async append(records: object[]): Promise<void> {
    if (records.length === 0) return;
    const fs = await import('node:fs/promises');
    const time = Date.now();
    await fs.appendFile(
      await this.path(),
      records.map((r) => `${JSON.stringify({ ...r, time })}\n`).join(''),
    );
  }

  /** After a resume: keep the lines up to the checkpoint's step (drop the lost tail) as history. */
  private async reload(trainer: TrainerContext, step: number): Promise<void> {
    const fs = await import('node:fs/promises');
    let text = '';
    try {
      text = await fs.readFile(await this.path(), 'utf8');
    } catch {
      await this.reset();
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
      if (type === 'train') trainer.history.train.push(rest as unknown as StepLogs);
      else if (type === 'eval') trainer.history.eval.push(rest as unknown as EvalLogs);
    }
    await fs.writeFile(await this.path(), kept.length ? `${kept.join('\n')}\n` : '');
  }
}
