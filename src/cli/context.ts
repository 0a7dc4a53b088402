import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageRoot } from '../store/package-root.js';

/** What a command may know of the world: environment and flags are read here, once. */
export interface Context {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly version: string;
  readonly homeDir: string;
  /** --db, else MESHFLEET_DB, else ~/.meshfleet/mesh.db */
  dbPath(flag?: string): string;
  /** dbPath, and whether it is the default location (whose folder Meshfleet may create). */
  dbLocation(flag?: string): DbLocation;
  /** The old server's ledger: AGENT_MESH_DATA_FILE, else ~/.config/opencode/agent-mesh.json */
  legacyLedgerPath(): string;
}

export interface DbLocation {
  path: string;
  isDefault: boolean;
}

export function processContext(): Context {
  const env = process.env;
  const home = env.HOME ?? homedir();
  const dbLocation = (flag?: string): DbLocation => {
    const chosen = flag ?? nonEmpty(env.MESHFLEET_DB);
    return chosen === undefined
      ? { path: join(home, '.meshfleet', 'mesh.db'), isDefault: true }
      : { path: resolve(chosen), isDefault: false };
  };
  return {
    env,
    stdout: process.stdout,
    stderr: process.stderr,
    homeDir: home,
    version: (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version,
    dbPath: (flag) => dbLocation(flag).path,
    dbLocation,
    legacyLedgerPath: () => resolve(nonEmpty(env.AGENT_MESH_DATA_FILE) ?? join(home, '.config', 'opencode', 'agent-mesh.json')),
  };
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);
