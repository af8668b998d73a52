import { readFile } from 'node:fs/promises';
import { DatasetError } from './dataset-error.js';
import { type OnError, SkipReport } from './skip-report.js';

/**
 * Reads a JSON Lines file (one JSON object per line; blank lines ignored). A malformed line throws
 * naming file and line, or is skipped and counted under `onError: 'skip'`.
 *
 * ```ts
 * const { records } = await readJsonl<{ image: string; text: string }>('train.jsonl');
 * ```
 */
export async function readJsonl<T = Record<string, unknown>>(
  file: string,
  options: { onError?: OnError; report?: SkipReport; required?: readonly string[] } = {},
): Promise<{ records: T[]; report: SkipReport }> {
  const report = options.report ?? new SkipReport();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DatasetError(
      'readJsonl',
      file,
      `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const records: T[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    report.total += 1;
    let problem: string | null = null;
    let value: unknown;
    try {
      value = JSON.parse(line);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) problem = 'not a JSON object';
      else {
        const missing = (options.required ?? []).filter((k) => !(k in (value as object)));
        if (missing.length) problem = `missing ${missing.map((k) => `'${k}'`).join(', ')}`;
      }
    } catch (e) {
      problem = `invalid JSON (${(e as Error).message})`;
    }
    if (problem) {
      if ((options.onError ?? 'throw') === 'throw')
        throw new DatasetError('readJsonl', file, `line ${i + 1}: ${problem}`);
      report.skip(`line ${i + 1}`, problem);
      return;
    }
    records.push(value as T);
  });
  return { records, report };
}
