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
  /** The old server's ledger: AGENT_MESH_DATA_FILE, else ~/.config/opencode/agent-mesh.json */
  legacyLedgerPath(): string;
}

export function processContext(): Context {
  const env = process.env;
  const home = env.HOME ?? homedir();
  return {
    env,
    stdout: process.stdout,
    stderr: process.stderr,
    homeDir: home,
    version: (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version,
    dbPath: (flag) => resolve(flag ?? nonEmpty(env.MESHFLEET_DB) ?? join(home, '.meshfleet', 'mesh.db')),
    legacyLedgerPath: () => resolve(nonEmpty(env.AGENT_MESH_DATA_FILE) ?? join(home, '.config', 'opencode', 'agent-mesh.json')),
  };
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);
