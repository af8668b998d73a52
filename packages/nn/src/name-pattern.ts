import { ArgumentError } from '@polymodal/tensor';

/**
 * A parameter- or module-name pattern as a RegExp: a RegExp is used as is; in a string, `*` matches
 * within one dot-separated segment and `**` across segments, and the whole name must match. The one
 * convention behind `Module.freeze`, LoRA targets and layer rules.
 *
 * ```ts
 * namePattern('encoder.*.weight').test('encoder.norm.weight'); // true
 * namePattern('encoder.**').test('encoder.layers.0.q.bias');   // true
 * ```
 */
export function namePattern(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return pattern;
  if (typeof pattern !== 'string')
    throw new ArgumentError(
      'namePattern',
      `pattern must be a string or a RegExp, got ${pattern === null ? 'null' : typeof pattern}`,
    );
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^.]*';
    } else re += c.replace(/[\\^$+?.()|[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
