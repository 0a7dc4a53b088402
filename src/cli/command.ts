import type { Context } from './context.js';

export interface Command {
  name: string;
  /** One line for `meshfleet --help`. */
  summary: string;
  usage: string;
  /** Returns the exit code. Throws UsageError for bad arguments. */
  run(args: string[], ctx: Context): number | Promise<number>;
}

/**
 * A command as `meshfleet --help` lists it, whose module is imported only when it is asked for:
 * `--version` and `--help` load none of them, `serve` loads only what serving needs.
 */
export interface LazyCommand {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export type CommandEntry = Command | LazyCommand;

export const loadCommand = async (entry: CommandEntry): Promise<Command> => ('load' in entry ? entry.load() : entry);

/** Bad arguments: one line on stderr, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A whole-number flag from `min` to `max`, or `fallback` when it is absent. */
export function wholeNumberFlag(flag: string, text: string | undefined, fallback: number, max: number, min = 1): number {
  if (text === undefined) return fallback;
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, not '${text.slice(0, 40)}'.`);
  }
  return Number(text);
}
