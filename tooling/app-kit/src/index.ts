/**
 * @polymodal/app-kit: the scaffolding Polymodal's sample apps share (private, not published).
 * See README.md.
 */

// Re-exported so that an app's scaffolding comes from one import; written once, in @polymodal/nn.
export { withEval } from '@polymodal/nn';
export {
  type AnyCommand,
  type AppSpec,
  type CliIo,
  type CommandContext,
  type CommandSpec,
  defineCommand,
  helpText,
  main,
  type Preset,
  runCli,
} from './cli.js';
export {
  type CliProcessOptions,
  type CliProcessResult,
  checkpointSteps,
  type KillAndRerunOptions,
  killAndRerun,
  runCliProcess,
  TSX_SOURCE_ARGS,
} from './cli-process.js';
export { readJsonFile, writeFileAtomic, writeJsonAtomic } from './json-file.js';
export {
  choice,
  flag,
  int,
  kebabCase,
  number,
  type OptionSpec,
  type OptionSpecs,
  type OptionValue,
  type ParsedOptions,
  string,
} from './options.js';
export { createProgressBar, type Progress, type ProgressMode } from './progress.js';
export { type PrepareRunDirOptions, prepareRunDir, type RunDir } from './run-dir.js';
export {
  createOptimizer,
  type OptimizerSetup,
  type OptimizerSetupOptions,
  resolveWarmup,
  type WarmupSpec,
} from './training-setup.js';
export { UsageError } from './usage-error.js';
