import { UsageError } from './usage-error.js';

/** How one flag is parsed and checked; built with the helpers below (`int`, `number`, …). */
export interface OptionSpec<T> {
  /** `value`: the flag takes a value (`--steps 5`, `--steps=5`); `boolean`: a switch (`--resume`). */
  readonly kind: 'value' | 'boolean';
  readonly description: string;
  /** Placeholder in the help (`<n>`, `<dir>`). */
  readonly placeholder?: string;
  readonly default?: T;
  /** Must be given (no default applies). */
  readonly required?: boolean;
  /** Raw text (as typed) → value, or throws `UsageError` naming the flag. */
  parse(raw: string, flag: string): T;
}

/** The value type an option spec produces. */
// Read off `parse` alone: a literal `default` (`false`, `'auto'`) must not narrow the value type.
export type OptionValue<S> = S extends { parse(raw: string, flag: string): infer T } ? T : never;

/** Option specs keyed by camelCase name (`batchSize` → `--batch-size`). */
export type OptionSpecs = Record<string, OptionSpec<unknown>>;

/** The parsed options: every option with a default (or required) is present, the others optional. */
export type ParsedOptions<S extends OptionSpecs> = {
  [K in keyof S as S[K] extends { default: unknown } | { required: true } ? K : never]: OptionValue<S[K]>;
} & {
  [K in keyof S as S[K] extends { default: unknown } | { required: true } ? never : K]?: OptionValue<S[K]>;
};

/** `batchSize` → `batch-size`. */
export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const show = (raw: string) => JSON.stringify(raw);

interface Common<T> {
  description: string;
  default?: T;
  required?: boolean;
}

/**
 * An integer flag: `--steps must be a positive integer, got "abc"` for bad input. `min` defaults
 * to 1 (a count); pass `min: 0` for a non-negative integer, `min: -Infinity` for any.
 *
 * ```ts
 * const steps = int({ description: 'optimizer steps', default: 400 });
 * ```
 */
export function int<const O extends Common<number> & { min?: number; max?: number; placeholder?: string }>(
  o: O,
): OptionSpec<number> & O {
  const min = o.min ?? 1;
  const max = o.max ?? Number.POSITIVE_INFINITY;
  const what =
    min === 1 && max === Number.POSITIVE_INFINITY
      ? 'a positive integer'
      : min === 0 && max === Number.POSITIVE_INFINITY
        ? 'a non-negative integer'
        : Number.isFinite(min) && Number.isFinite(max)
          ? `an integer from ${min} to ${max}`
          : Number.isFinite(min)
            ? `an integer ≥ ${min}`
            : Number.isFinite(max)
              ? `an integer ≤ ${max}`
              : 'an integer';
  return {
    kind: 'value',
    placeholder: '<n>',
    ...o,
    parse(raw, flag) {
      const v = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isSafeInteger(v) || v < min || v > max) {
        throw new UsageError(`${flag} must be ${what}, got ${show(raw)}`);
      }
      return v;
    },
  };
}

/**
 * A real-number flag with optional bounds: `--lr must be a number > 0, got "x"`.
 *
 * ```ts
 * const lr = number({ description: 'peak learning rate', default: 2e-3, min: 0, exclusiveMin: true });
 * ```
 */
export function number<
  const O extends Common<number> & {
    min?: number;
    max?: number;
    exclusiveMin?: boolean;
    placeholder?: string;
  },
>(o: O): OptionSpec<number> & O {
  const parts: string[] = [];
  if (o.min !== undefined) parts.push(`${o.exclusiveMin ? '>' : '≥'} ${o.min}`);
  if (o.max !== undefined) parts.push(`≤ ${o.max}`);
  const what = `a number${parts.length ? ` ${parts.join(' and ')}` : ''}`;
  return {
    kind: 'value',
    placeholder: '<x>',
    ...o,
    parse(raw, flag) {
      const v = raw.trim() === '' ? Number.NaN : Number(raw);
      const ok =
        Number.isFinite(v) &&
        (o.min === undefined || (o.exclusiveMin ? v > o.min : v >= o.min)) &&
        (o.max === undefined || v <= o.max);
      if (!ok) throw new UsageError(`${flag} must be ${what}, got ${show(raw)}`);
      return v;
    },
  };
}

/**
 * A text flag; empty (or all-whitespace) text is refused unless `allowEmpty`.
 *
 * ```ts
 * const text = string({ description: 'query text' });
 * ```
 */
export function string<const O extends Common<string> & { allowEmpty?: boolean; placeholder?: string }>(
  o: O,
): OptionSpec<string> & O {
  return {
    kind: 'value',
    placeholder: '<text>',
    ...o,
    parse(raw, flag) {
      if (!o.allowEmpty && raw.trim() === '') throw new UsageError(`${flag} must not be empty`);
      return raw;
    },
  };
}

/**
 * One of a fixed list: `--progress must be one of auto, bar, log, none, got "x"`.
 *
 * ```ts
 * const progress = choice({ description: 'progress display', choices: ['auto', 'bar', 'log', 'none'], default: 'auto' });
 * ```
 */
export function choice<
  const C extends readonly string[],
  const O extends { description: string; default?: C[number]; required?: boolean; placeholder?: string },
>(o: O & { choices: C }): OptionSpec<C[number]> & O & { choices: C } {
  return {
    kind: 'value',
    placeholder: `<${o.choices.join('|')}>`,
    ...o,
    parse(raw: string, flag: string): C[number] {
      if (!o.choices.includes(raw)) {
        throw new UsageError(`${flag} must be one of ${o.choices.join(', ')}, got ${show(raw)}`);
      }
      return raw as C[number];
    },
  };
}

/**
 * A switch: present → true (`--no-<name>` → false).
 *
 * ```ts
 * const resume = flag({ description: 'continue from the last checkpoint' });
 * ```
 */
export function flag<const O extends Common<boolean>>(o: O): OptionSpec<boolean> & O {
  return {
    kind: 'boolean',
    ...o,
    parse() {
      return true;
    },
  };
}
