import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { packageRoot } from '../../src/store/package-root.js';

export const FIXTURES = join(packageRoot, 'fixtures');
/** Real ledgers of the old system, beside the repository when the workplace has them. */
export const SHARED_LEDGERS = join(packageRoot, '..', 'shared', 'legacy-ledgers');
export const CLI = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
/** The same CLI bundled (package.json's bin): what `npm install -g` puts on PATH and `meshfleet config` names. */
export const BIN = join(packageRoot, 'dist', 'bin', 'main.js');

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'meshfleet-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs the built `meshfleet` as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MESHFLEET_DB: '', AGENT_MESH_DATA_FILE: '', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the built `meshfleet` without blocking this process (for runs that meet a child of ours holding a lock). */
export function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MESHFLEET_DB: '', AGENT_MESH_DATA_FILE: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every row of every table, for "nothing changed" checks that do not depend on file bytes. */
export function dumpDatabase(path: string): Record<string, unknown[]> {
  if (!existsSync(path)) return {};
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    return Object.fromEntries(tables.map((table) => [table, db.prepare(`SELECT * FROM "${table}"`).all()]));
  } finally {
    db.close();
  }
}

export function hasSqliteCli(): boolean {
  return spawnSync('sqlite3', ['--version']).status === 0;
}
