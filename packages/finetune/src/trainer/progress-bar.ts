import cliProgress from 'cli-progress';
import {
  createProgress as createPortableProgress,
  formatProgressValues,
  type ProgressMode,
  type ProgressReporter,
} from './progress.js';

/**
 * Node's reporter: a cli-progress bar for 'bar', and for 'auto' when stdout is a TTY; otherwise
 * the portable reporters of `@polymodal/finetune` (log lines, a listener, none). Node only: the
 * bar needs a terminal (cli-progress requires `readline`).
 *
 * ```ts
 * import { createProgress } from '@polymodal/finetune/node';
 * const p = createProgress('auto', 10, console.log);
 * p.start(1000, 0); p.update(1, { loss: 2.3 }); p.stop();
 * ```
 */
export function createProgress(
  mode: ProgressMode,
  logEvery: number,
  log: (line: string) => void,
): ProgressReporter {
  const tty = process.stdout?.isTTY === true;
  if (mode !== 'bar' && !(mode === 'auto' && tty)) return createPortableProgress(mode, logEvery, log);
  const bar = new cliProgress.SingleBar(
    { format: 'train [{bar}] {value}/{total} steps | {metrics} | eta {eta_formatted}', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total, start) => bar.start(total, start, { metrics: '' }),
    update: (step, values) =>
      values ? bar.update(step, { metrics: formatProgressValues(values) }) : bar.update(step),
    log: (line) => log(line),
    stop: () => bar.stop(),
  };
}
