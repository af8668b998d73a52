import { ArgumentError } from '@polymodal/tensor';

/** What a value is, for error messages: `undefined`, `null`, `a number (3)`, `an array`, `an object`. */
export function describeValue(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' || typeof v === 'boolean') return `a ${typeof v} (${v})`;
  return `a${typeof v === 'object' ? 'n' : ''} ${typeof v}`;
}

/**
 * Throws `ArgumentError` naming `op` and the argument unless `value` is a string: user text
 * reaches the tokenizers from data files and UIs, where `undefined` is a common slip.
 *
 * ```ts
 * assertText('WordPieceTokenizer.encode', 'text', text);
 * ```
 */
export function assertText(op: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string')
    throw new ArgumentError(op, `${name} must be a string, got ${describeValue(value)}`);
}
