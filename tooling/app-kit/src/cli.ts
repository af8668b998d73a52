import { cac } from 'cac';
import { closest } from './edit-distance.js';
import { kebabCase, type OptionSpec, type OptionSpecs, type ParsedOptions } from './options.js';
import { UsageError } from './usage-error.js';

/** A named set of option values a switch applies (`--quick`); flags given explicitly win over it. */
export interface Preset<S extends OptionSpecs> {
  description: string;
  values: Partial<ParsedOptions<S>>;
}

/** What a command's `run` gets besides its options. */
export interface CommandContext {
  /** The command's name (`train`). */
  command: string;
  /** Where normal output goes (stdout by default). */
  log: (line: string) => void;
  /** Where diagnostics go (stderr by default). */
  error: (line: string) => void;
  /** `--debug` was given. */
  debug: boolean;
  /** camelCase names of the options given on the command line (not from defaults or presets). */
  explicit: ReadonlySet<string>;
  /** Presets switched on, in the order given. */
  presets: readonly string[];
}

export interface CommandSpec<S extends OptionSpecs> {
  name: string;
  summary: string;
  options: S;
  /** Each preset adds a `--<name>` switch; values apply over defaults and under explicit flags. */
  presets?: Record<string, Preset<S>>;
  /** Checks across flags (e.g. "exactly one of --text and --image"); throw `UsageError`. */
  validate?(options: ParsedOptions<S>, context: CommandContext): void;
  run(options: ParsedOptions<S>, context: CommandContext): Promise<void> | void;
  /** Example lines for the help. */
  examples?: string[];
}

// The apps keep a list of commands with different option types; this is the erased form.
// biome-ignore lint/suspicious/noExplicitAny: a list of commands whose option types differ
export type AnyCommand = CommandSpec<any>;

export interface AppSpec {
  /** Program name in usage lines (`polymodal-retrieval`). */
  name: string;
  commands: AnyCommand[];
  /** The command run when none is named (`pnpm retrieval` = the demo). */
  defaultCommand?: string;
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * Declares a subcommand, keeping its option types for `run` (a typed identity function).
 *
 * ```ts
 * const train = defineCommand({
 *   name: 'train', summary: 'Train a model',
 *   options: { steps: int({ description: 'optimizer steps', default: 400 }) },
 *   presets: { quick: { description: 'a tiny run', values: { steps: 20 } } },
 *   run: async ({ steps }, { log }) => log(`training for ${steps} steps`),
 * });
 * ```
 */
export function defineCommand<S extends OptionSpecs>(spec: CommandSpec<S>): CommandSpec<S> {
  return spec;
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

function flagsOf(command: AnyCommand): Map<string, { key: string; spec: OptionSpec<unknown> | null }> {
  const out = new Map<string, { key: string; spec: OptionSpec<unknown> | null }>();
  for (const [key, spec] of Object.entries(command.options as OptionSpecs)) {
    out.set(`--${kebabCase(key)}`, { key, spec });
  }
  for (const preset of Object.keys(command.presets ?? {}))
    out.set(`--${kebabCase(preset)}`, { key: preset, spec: null });
  return out;
}

/** The help text of the whole app or of one command, rendered by cac. */
export function helpText(app: AppSpec, commandName?: string): string {
  const cli = cac(app.name);
  for (const command of app.commands) {
    const c = cli.command(command.name, command.summary);
    for (const [key, spec] of Object.entries(command.options as OptionSpecs)) {
      const name = `--${kebabCase(key)}`;
      const extra = [
        spec.required ? '(required)' : '',
        spec.default !== undefined && spec.kind === 'value' ? `(default: ${String(spec.default)})` : '',
      ]
        .filter(Boolean)
        .join(' ');
      c.option(
        spec.kind === 'value' ? `${name} ${spec.placeholder ?? '<value>'}` : name,
        `${spec.description}${extra ? ` ${extra}` : ''}`,
      );
    }
    for (const [name, preset] of Object.entries(command.presets ?? {})) {
      const given = Object.entries(preset.values as Record<string, unknown>)
        .map(([k, v]) => `--${kebabCase(k)} ${String(v)}`)
        .join(', ');
      c.option(`--${kebabCase(name)}`, `${preset.description} (${given}; flags given explicitly win)`);
    }
    c.option('--debug', 'show stack traces of errors');
    for (const e of command.examples ?? []) c.example(e);
  }
  cli.option('-h, --help', 'display this message');
  const lines: string[] = [];
  const info = console.info;
  // cac prints help with console.info; route it to a string so the caller decides where it goes.
  console.info = (text: string) => lines.push(text);
  try {
    const command = commandName ? cli.commands.find((c) => c.name === commandName) : undefined;
    (command ?? cli.globalCommand).outputHelp();
  } finally {
    console.info = info;
  }
  const text = lines.join('\n');
  if (commandName || !app.defaultCommand) return text;
  return `${text}\n\nWith no command, runs \`${app.name} ${app.defaultCommand}\`.`;
}

interface Parsed {
  command: AnyCommand;
  raw: Map<string, string | boolean>;
  presets: string[];
  help: boolean;
  debug: boolean;
}

/** Splits argv into a command, raw flag values and switches; every mistake is a `UsageError`. */
function parseArgv(
  app: AppSpec,
  argv: readonly string[],
): Parsed | { help: true; command: null; debug: boolean } {
  const names = app.commands.map((c) => c.name);
  let rest = [...argv];
  let command: AnyCommand | undefined;
  const first = rest[0];
  if (first !== undefined && !first.startsWith('-')) {
    command = app.commands.find((c) => c.name === first);
    if (!command) {
      const hint = closest(first, names);
      throw new UsageError(
        `unknown command '${first}'${hint ? ` (did you mean '${hint}'?)` : ''}; valid commands: ${names.join(', ')}`,
      );
    }
    rest = rest.slice(1);
  }
  const debug = rest.includes('--debug');
  // `app --help` (no command named) is the overview of all commands.
  if (!command && rest.some((a) => a === '--help' || a === '-h')) return { help: true, command: null, debug };
  if (!command && app.defaultCommand) command = app.commands.find((c) => c.name === app.defaultCommand);
  if (!command) {
    throw new UsageError(`no command given; valid commands: ${names.join(', ')}`);
  }
  const flags = flagsOf(command);
  const valid = () => [...flags.keys(), '--debug', '--help'];
  const raw = new Map<string, string | boolean>();
  const presets: string[] = [];
  let help = false;
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (token === '--help' || token === '-h') {
      help = true;
      continue;
    }
    if (token === '--debug') continue;
    if (!token.startsWith('-') || NEGATIVE_NUMBER.test(token)) {
      throw new UsageError(
        `unexpected argument '${token}' for '${command.name}' (it takes only flags)`,
        command.name,
      );
    }
    if (!token.startsWith('--')) {
      throw new UsageError(
        `unknown option '${token}' for '${command.name}'; valid options: ${valid().join(', ')}`,
        command.name,
      );
    }
    const eq = token.indexOf('=');
    const name = eq >= 0 ? token.slice(0, eq) : token;
    const negated = name.startsWith('--no-') && !flags.has(name) ? `--${name.slice(5)}` : null;
    const entry = flags.get(negated ?? name);
    if (!entry) {
      const hint = closest(name, valid());
      throw new UsageError(
        `unknown option '${name}' for '${command.name}'${hint ? ` (did you mean '${hint}'?)` : ''}; valid options: ${valid().join(', ')}`,
        command.name,
      );
    }
    if (entry.spec === null || entry.spec.kind === 'boolean') {
      if (eq >= 0)
        throw new UsageError(`${name} is a switch and takes no value, got '${token}'`, command.name);
      if (entry.spec === null) {
        if (negated) throw new UsageError(`unknown option '${name}' for '${command.name}'`, command.name);
        presets.push(entry.key);
      } else raw.set(entry.key, !negated);
      continue;
    }
    if (negated) throw new UsageError(`${negated} takes a value; '${name}' is not an option`, command.name);
    let value: string;
    if (eq >= 0) value = token.slice(eq + 1);
    else {
      const next = rest[i + 1];
      // A negative number is a value, not a flag (`--steps -5`), so the check can name the flag.
      if (next === undefined || (next.startsWith('-') && !NEGATIVE_NUMBER.test(next))) {
        throw new UsageError(
          `${name} needs a value (${name} ${entry.spec.placeholder ?? '<value>'})`,
          command.name,
        );
      }
      value = next;
      i++;
    }
    raw.set(entry.key, value);
  }
  return { command, raw, presets, help, debug };
}

/** Defaults, then presets in order, then explicit flags; every value checked, required ones present. */
function resolveOptions(parsed: Parsed): { options: Record<string, unknown>; explicit: Set<string> } {
  const { command, raw } = parsed;
  const specs = command.options as OptionSpecs;
  const options: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs))
    if (spec.default !== undefined) options[key] = spec.default;
  for (const name of parsed.presets) Object.assign(options, command.presets![name]!.values);
  const explicit = new Set<string>();
  for (const [key, value] of raw) {
    const spec = specs[key]!;
    options[key] = typeof value === 'boolean' ? value : spec.parse(value, `--${kebabCase(key)}`);
    explicit.add(key);
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.required && options[key] === undefined) {
      throw new UsageError(`--${kebabCase(key)} is required for '${command.name}'`, command.name);
    }
  }
  return { options, explicit };
}

/**
 * Parses `argv` (without `node` and the script), validates every flag before anything runs, and
 * runs the command. Returns the exit code: 0 on success, 2 for a usage error (message and a
 * pointer to `--help`, no stack trace), 1 for any other error (its message; `--debug` adds the
 * stack). Negative numbers parse as values (`--steps -5` → "--steps must be a positive integer,
 * got "-5""); values stay the text typed (`--text ""` is empty, not 0); `--quick --steps 5` runs 5
 * steps (explicit flags win over presets); unknown commands and flags list the valid ones.
 *
 * ```ts
 * process.exitCode = await runCli({ name: 'polymodal-retrieval', commands: [train, search], defaultCommand: 'train' },
 *   process.argv.slice(2));
 * ```
 */
export async function runCli(
  app: AppSpec,
  argv: readonly string[],
  io: Partial<CliIo> = {},
): Promise<number> {
  const out = io.out ?? ((line: string) => console.log(line));
  const err = io.err ?? ((line: string) => console.error(line));
  const debug = argv.includes('--debug');
  let commandName: string | undefined;
  try {
    const parsed = parseArgv(app, argv);
    if (parsed.command === null) {
      out(helpText(app));
      return 0;
    }
    commandName = parsed.command.name;
    if (parsed.help) {
      out(helpText(app, parsed.command.name));
      return 0;
    }
    const { options, explicit } = resolveOptions(parsed);
    const context: CommandContext = {
      command: parsed.command.name,
      log: out,
      error: err,
      debug: parsed.debug,
      explicit,
      presets: parsed.presets,
    };
    parsed.command.validate?.(options, context);
    await parsed.command.run(options, context);
    return 0;
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    if (error instanceof UsageError) {
      const which = error.command ?? commandName;
      err(`error: ${error.message}`);
      err(`run '${app.name}${which ? ` ${which}` : ''} --help' for usage`);
      if (debug && error.stack) err(error.stack);
      return 2;
    }
    err(`error: ${error.message}`);
    if (debug && error.stack) err(error.stack);
    else err('(run again with --debug for the stack trace)');
    return 1;
  }
}

/**
 * `runCli` on `process.argv`, setting `process.exitCode` (so pending output is flushed).
 *
 * ```ts
 * await main({ name: 'polymodal-vqa', commands: [train, evaluate], defaultCommand: 'train' });
 * ```
 */
export async function main(app: AppSpec): Promise<void> {
  process.exitCode = await runCli(app, process.argv.slice(2));
}
