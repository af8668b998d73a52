import type { TrainerCallback, TrainerContext } from './callback.js';
import { lineChartSvg, reportHtml, type Series } from './svg-report.js';
import type { TrainResult } from './trainer-types.js';

/**
 * Writes an end-of-run report into `dir` (Node only: `node:fs`): `report.svg` (train loss, each
 * task's loss, eval loss), `metrics.svg` (eval metrics) and `report.html` (both charts and a
 * summary table), drawn from `trainer.history`; sets `result.reportPath`. The Trainer adds one for
 * `outputDir`.
 *
 * ```ts
 * new Trainer({ …, callbacks: [new MetricsLog('runs/a'), new TrainingReport('runs/a')] });
 * ```
 */
export class TrainingReport implements TrainerCallback {
  constructor(
    readonly dir: string,
    readonly title = 'Training report',
  ) {}

  async onTrainEnd(trainer: TrainerContext, result: TrainResult): Promise<void> {
    result.reportPath = await this.write(trainer);
  }

  /** Writes the files now; returns the HTML's path. */
  async write(trainer: TrainerContext): Promise<string> {
    const fs = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { history, state } = trainer;
    await fs.mkdir(this.dir, { recursive: true });
    const lossSeries: Series[] = [{ name: 'train loss', points: history.train.map((l) => [l.step, l.loss]) }];
    const taskNames = new Set(history.train.flatMap((l) => Object.keys(l.losses)));
    if (taskNames.size > 1)
      for (const name of taskNames)
        lossSeries.push({
          name: `train ${name}`,
          points: history.train.map((l) => [l.step, l.losses[name] ?? Number.NaN]),
        });
    if (history.eval.length)
      lossSeries.push({
        name: 'eval loss',
        points: history.eval.map((l) => [l.step, l.metrics.loss ?? Number.NaN]),
      });
    const lossSvg = lineChartSvg('loss', lossSeries);
    await fs.writeFile(join(this.dir, 'report.svg'), lossSvg);
    const charts = [lossSvg];
    const metricNames = new Set(
      history.eval.flatMap((l) => Object.keys(l.metrics).filter((k) => !k.startsWith('loss'))),
    );
    if (metricNames.size) {
      const svg = lineChartSvg(
        'eval metrics',
        [...metricNames].map((name) => ({
          name,
          points: history.eval.map((l) => [l.step, l.metrics[name] ?? Number.NaN] as [number, number]),
        })),
      );
      await fs.writeFile(join(this.dir, 'metrics.svg'), svg);
      charts.push(svg);
    }
    const last = history.train.at(-1);
    const summary: Record<string, string | number> = {
      steps: state.step,
      epochs: state.epoch,
      'final train loss': last ? last.loss.toFixed(5) : 'n/a',
    };
    const lastEval = history.eval.at(-1);
    if (lastEval)
      for (const [k, v] of Object.entries(lastEval.metrics)) summary[`final eval ${k}`] = v.toFixed(5);
    if (state.bestMetric !== null) summary['best watched metric'] = state.bestMetric.toFixed(5);
    const htmlPath = join(this.dir, 'report.html');
    await fs.writeFile(htmlPath, reportHtml(this.title, charts, summary));
    return htmlPath;
  }
}
