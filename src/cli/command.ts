import type { Context } from './context.js';

export interface Command {
  name: string;
  /** One line for `meshfleet --help`. */
  summary: string;
  usage: string;
  /** Returns the exit code. Throws UsageError for bad arguments. */
  run(args: string[], ctx: Context): number | Promise<number>;
}

/** Bad arguments: one line on stderr, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
