import cliProgress from 'cli-progress';

export type ProgressMode = 'auto' | 'bar' | 'log' | 'none';

/** Shows training progress: a cli-progress bar on a TTY, plain periodic log lines otherwise. */
export interface ProgressReporter {
  start(total: number, startValue: number): void;
  /** Moves to `step`; `values` (e.g. loss, lr) when they have been read, else the last ones stay. */
  update(step: number, values?: Record<string, number>): void;
  log(line: string): void;
  stop(): void;
}

function format(values: Record<string, number>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(3) : v.toFixed(4)}`)
    .join(' ');
}

/**
 * Picks the reporter: `auto` uses a bar when stdout is a TTY and log lines (every `logEvery`
 * steps, through `log`) otherwise.
 *
 * ```ts
 * const p = createProgress('auto', 10, console.log);
 * p.start(1000, 0); p.update(1, { loss: 2.3 }); p.stop();
 * ```
 */
export function createProgress(
  mode: ProgressMode,
  logEvery: number,
  log: (line: string) => void,
): ProgressReporter {
  const tty = typeof process !== 'undefined' && process.stdout?.isTTY === true;
  const resolved = mode === 'auto' ? (tty ? 'bar' : 'log') : mode;
  if (resolved === 'bar') {
    const bar = new cliProgress.SingleBar(
      { format: 'train [{bar}] {value}/{total} steps | {metrics} | eta {eta_formatted}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (total, start) => bar.start(total, start, { metrics: '' }),
      update: (step, values) => (values ? bar.update(step, { metrics: format(values) }) : bar.update(step)),
      log: (line) => log(line),
      stop: () => bar.stop(),
    };
  }
  if (resolved === 'log') {
    let total = 0;
    return {
      start: (t) => {
        total = t;
      },
      update: (step, values) => {
        if (values && (step % logEvery === 0 || step === total))
          log(`step ${step}/${total} ${format(values)}`);
      },
      log,
      stop: () => undefined,
    };
  }
  return { start: () => undefined, update: () => undefined, log: () => undefined, stop: () => undefined };
}
