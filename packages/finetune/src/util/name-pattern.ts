/**
 * Turns a parameter-name pattern into a RegExp: a RegExp is used as is; in a string, `*` matches
 * within one dot-separated segment and `**` across segments (the nn `freeze` convention), and the
 * whole name must match.
 *
 * ```ts
 * namePattern('encoder.*.weight').test('encoder.norm.weight'); // true
 * namePattern('encoder.**').test('encoder.layers.0.q.bias');   // true
 * ```
 */
export function namePattern(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return pattern;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^.]*';
    } else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether `name` matches any of the patterns.
 *
 * ```ts
 * matchesAny('head.bias', ['embeddings.**', /^head\./]); // true
 * ```
 */
export function matchesAny(name: string, patterns: readonly (string | RegExp)[]): boolean {
  return patterns.some((p) => namePattern(p).test(name));
}
