/**
 * A mistake on the command line (an unknown command or flag, a bad or missing value): the CLI
 * prints the message and exits with code 2, without a stack trace (`--debug` shows it).
 *
 * ```ts
 * throw new UsageError('--batch-size must be a positive integer, got "abc"');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose help to point at (`polymodal-retrieval train --help`). */
    readonly command?: string,
  ) {
    super(message);
  }
}
