import { ArgumentError } from '@polymodal/tensor';

/** Where a progress update goes: a function (a browser progress element, a worker's postMessage). */
export type ProgressListener = (update: ProgressUpdate) => void;

/**
 * 'auto': a bar on a terminal (Node entry), log lines otherwise; 'bar': a terminal bar (Node
 * entry only); 'log': a line every `logEvery` steps; 'none'; or a function called on each update.
 */
export type ProgressMode = 'auto' | 'bar' | 'log' | 'none' | ProgressListener;

/** One progress update: the step reached, the planned total, and the values read at this step. */
export interface ProgressUpdate {
  step: number;
  total: number;
  /** Present on steps whose values (e.g. loss, lr) have been read. */
  values?: Record<string, number>;
}

/** Shows training progress: a terminal bar, plain periodic log lines, or a listener. */
export interface ProgressReporter {
  start(total: number, startValue: number): void;
  /** Moves to `step`; `values` (e.g. loss, lr) when they have been read, else the last ones stay. */
  update(step: number, values?: Record<string, number>): void;
  log(line: string): void;
  stop(): void;
}

/** Makes a reporter for a mode (this module's `createProgress`, or the terminal-aware one of `/node`). */
export type ProgressFactory = (
  mode: ProgressMode,
  logEvery: number,
  log: (line: string) => void,
) => ProgressReporter;

/** `loss=2.3026 lr=1.000e-4`. */
export function formatProgressValues(values: Record<string, number>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(3) : v.toFixed(4)}`)
    .join(' ');
}

/**
 * Picks the reporter that runs anywhere (browser, worker, Node): 'auto' and 'log' write a line
 * every `logEvery` steps through `log`, a function hears every update, 'none' shows nothing. The
 * terminal bar ('bar', or 'auto' on a TTY) is `createProgress` from `@polymodal/finetune/node`.
 *
 * ```ts
 * const p = createProgress(({ step, total }) => (bar.value = step / total), 10, console.log);
 * p.start(1000, 0); p.update(1, { loss: 2.3 }); p.stop();
 * ```
 */
export function createProgress(
  mode: ProgressMode,
  logEvery: number,
  log: (line: string) => void,
): ProgressReporter {
  if (typeof mode === 'function') {
    let total = 0;
    return {
      start: (t, startValue) => {
        total = t;
        mode({ step: startValue, total });
      },
      update: (step, values) => mode(values ? { step, total, values } : { step, total }),
      log,
      stop: () => undefined,
    };
  }
  if (mode === 'bar')
    throw new ArgumentError(
      'createProgress',
      "mode 'bar' draws on a terminal: use createProgress / Trainer from '@polymodal/finetune/node', or 'log' or a function here",
    );
  if (mode === 'auto' || mode === 'log') {
    let total = 0;
    return {
      start: (t) => {
        total = t;
      },
      update: (step, values) => {
        if (values && (step % logEvery === 0 || step === total))
          log(`step ${step}/${total} ${formatProgressValues(values)}`);
      },
      log,
      stop: () => undefined,
    };
  }
  if (mode === 'none')
    return { start: () => undefined, update: () => undefined, log: () => undefined, stop: () => undefined };
  throw new ArgumentError(
    'createProgress',
    `mode must be 'auto', 'bar', 'log', 'none' or a function, got ${String(mode)}`,
  );
}
