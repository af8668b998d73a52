import { namePattern } from '@polymodal/nn';

/** The shared glob convention of `@polymodal/nn` (`*` within a dot segment, `**` across). */
export { namePattern };

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
