import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig, type Config } from '../config.js';
import { packageRoot } from '../store/package-root.js';

/** What a command may know of the world. Tests build their own; the meshfleet process builds it from `process`. */
export interface Context {
  /** The environment and the working folder, read once (src/config.ts). */
  readonly config: Config;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Keys for interactive commands (the dashboard); absent where there is no input. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly version: string;
}

/** The one place the CLI reads its process's environment. */
export function processContext(): Context {
  return {
    config: readConfig({ env: process.env, cwd: process.cwd() }),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    version: packageVersion(),
  };
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
