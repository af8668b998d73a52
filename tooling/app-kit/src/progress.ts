import cliProgress from 'cli-progress';

export type ProgressMode = 'auto' | 'bar' | 'log' | 'none';

export interface Progress {
  /** `done` of the total so far, with a short status (`added 120, skipped 1`). */
  update(done: number, status?: string): void;
  stop(): void;
}

/**
 * Progress of a long loop over `total` items: a bar on a terminal (`auto`, `bar`), a log line
 * about every 10 % otherwise (`log`), or nothing (`none`).
 *
 * ```ts
 * const p = createProgressBar('index', 1000, 'auto', console.log);
 * p.update(64, 'added 64'); p.stop();
 * ```
 */
export function createProgressBar(
  label: string,
  total: number,
  mode: ProgressMode,
  log: (line: string) => void,
  isTTY = Boolean(process.stdout.isTTY),
): Progress {
  const resolved = mode === 'auto' ? (isTTY ? 'bar' : 'log') : mode;
  if (resolved === 'bar') {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} | {status} | eta {eta_formatted}`, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { status: '' });
    return { update: (done, status = '') => bar.update(done, { status }), stop: () => bar.stop() };
  }
  if (resolved === 'log') {
    const every = Math.max(1, Math.ceil(total / 10));
    let next = every;
    return {
      update: (done, status = '') => {
        if (done >= next || done === total) {
          log(`${label} ${done}/${total}${status ? ` ${status}` : ''}`);
          while (next <= done) next += every;
        }
      },
      stop: () => undefined,
    };
  }
  return { update: () => undefined, stop: () => undefined };
}
