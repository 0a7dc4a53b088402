// The checks of `meshfleet doctor`, each a line: ok, warn or fail, and what to do about it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import type { Config } from '../config.js';
import { whySupervisorIsDead } from '../runtime/policy.js';
import { settingsFrom } from '../runtime/supervisor-settings.js';
import { checkBeforeOpen } from '../store/adoption.js';
import { StoreError } from '../store/errors.js';
import { openHealthReader, type HealthReader } from '../store/health.js';
import { loadMigrations, type SchemaState } from '../store/migrator.js';
import { packageRoot } from '../store/package-root.js';
import { findOnPath, findProgram } from './which.js';

export type Status = 'ok' | 'warn' | 'fail';
export interface CheckResult { check: string; status: Status; detail: string; fix?: string }

const ok = (check: string, detail: string): CheckResult => ({ check, status: 'ok', detail });
const warn = (check: string, detail: string, fix: string): CheckResult => ({ check, status: 'warn', detail, fix });
const fail = (check: string, detail: string, fix: string): CheckResult => ({ check, status: 'fail', detail, fix });

/** Meshfleet's package.json says node >=20. */
export const MIN_NODE_MAJOR = 20;
/** A -wal this big means checkpoints are held back (SQLite's own target is about 4 MB). */
export const WAL_WARN_BYTES = 64 * 1024 * 1024;

export function checkNode(version: string): CheckResult {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? 0);
  return major >= MIN_NODE_MAJOR
    ? ok('node', `${version}`)
    : fail('node', `${version} is older than Meshfleet supports (${MIN_NODE_MAJOR} or newer).`, `Install Node ${MIN_NODE_MAJOR} or newer (https://nodejs.org), then reinstall meshfleet with it.`);
}

/** Loads the native SQLite module the way serve does; returns it when it works. */
export async function checkSqlite(): Promise<{ result: CheckResult; Database?: typeof BetterSqlite3 }> {
  try {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(':memory:');
    const version = db.prepare('SELECT sqlite_version()').pluck().get() as string;
    db.close();
    return { result: ok('better-sqlite3', `loads; SQLite ${version}`), Database };
  } catch (err) {
    const first = String((err as Error).message ?? err).split('\n')[0];
    return {
      result: fail('better-sqlite3', `does not load: ${first}`,
        `Rebuild it for this Node (${process.version}): cd ${packageRoot} && npm rebuild better-sqlite3 (building needs python3, make and a C++ compiler), or reinstall meshfleet.`),
    };
  }
}

/** The database lines: whether it opens, and what is inside. Reads only; changes nothing. */
export function checkDatabase(Database: typeof BetterSqlite3 | undefined, path: string, now: number): { results: CheckResult[]; reader?: HealthReader } {
  if (Database === undefined) return { results: [warn('database', `${path}: not checked`, 'Fix better-sqlite3 first (see above).')] };
  if (!existsSync(path)) {
    return { results: [warn('database', `${path} does not exist yet`, 'Nothing to check: `meshfleet serve` (or `meshfleet migrate`) creates it. Pass --db PATH or set MESHFLEET_DB to check another database.')] };
  }
  const latest = loadMigrations().length;
  let state: SchemaState | undefined;
  try {
    state = checkBeforeOpen(path, latest, { createParentDir: false });
  } catch (err) {
    if (err instanceof StoreError) return { results: [fail(err.code === 'too_new' ? 'schema' : 'database', err.message, err.hint)] };
    throw err;
  }
  let reader: HealthReader;
  try {
    reader = openHealthReader(Database, path);
  } catch (err) {
    return { results: [fail('database', `${path} cannot be read: ${(err as Error).message}`, 'Check the file and its permissions, or restore it from a backup.')] };
  }
  try {
    return { results: [ok('database', `${path} opens (${sizeOf(path)})`), ...readChecks(reader, path, state, latest, now)], reader };
  } catch (err) {
    reader.close();
    // SQLITE_BUSY (a rollback-journal database another process is writing), an I/O error…
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw err;
    return { results: [fail('database', `${path} could not be read to the end: ${(err as Error).message} (${code})`, 'Run doctor again when the database is not busy; if it persists, check the disk and restore from a backup.')] };
  }
}

function readChecks(reader: HealthReader, path: string, state: SchemaState | undefined, latest: number, now: number): CheckResult[] {
  const results: CheckResult[] = [];
  const problems = reader.integrity(10);
  results.push(problems.length === 1 && problems[0] === 'ok'
    ? ok('integrity', 'PRAGMA integrity_check: ok')
    : fail('integrity', `PRAGMA integrity_check found: ${problems.join('; ')}`, 'Stop every meshfleet using it and restore the file from a backup; `sqlite3 FILE .recover` may save what is left.'));
  const mode = reader.journalMode();
  results.push(mode === 'wal' ? ok('journal', 'WAL') : warn('journal', `journal_mode is ${mode}, not WAL`, 'Run `meshfleet serve` on it once: it switches the database to WAL, which lets servers read while one writes.'));
  const version = state?.kind === 'meshfleet' ? state.version : 0;
  results.push(version === latest
    ? ok('schema', `version ${version}, as this meshfleet expects`)
    : warn('schema', `version ${version}; this meshfleet uses ${latest}`, `The next \`meshfleet serve\` migrates it to ${latest} (copy ${path} first if an older meshfleet still needs it).`));
  const wal = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size;
  results.push(wal === undefined ? ok('wal', 'no -wal file (no connection has the database open)')
    : wal <= WAL_WARN_BYTES ? ok('wal', `${formatBytes(wal)} in ${path}-wal`)
    : warn('wal', `${path}-wal holds ${formatBytes(wal)}: checkpoints are held back`, 'A process keeps a read open (a long `sqlite3` session, a stuck reader): close it; the next checkpoint then reuses the file.'));
  if (version >= 3) results.push(checkSupervisors(reader, now));
  return results;
}

function checkSupervisors(reader: HealthReader, now: number): CheckResult {
  const { staleAfterMs } = settingsFrom({});
  const orphans = reader.supervisedUnfinished().flatMap((agent) => {
    const why = agent.supervisor === null ? 'it stopped without settling its agents' : whySupervisorIsDead(agent.supervisor, now, staleAfterMs);
    return why === null ? [] : [{ ...agent, why }];
  });
  if (orphans.length === 0) return ok('agents', 'every pending or running agent has a live server');
  const named = orphans.slice(0, 5).map((a) => `${a.id} (fleet ${a.fleetId}, ${a.status}; its server${a.supervisor === null ? '' : ` pid ${a.supervisor.pid}`}: ${a.why})`);
  return warn('agents', `${orphans.length} agent${orphans.length === 1 ? '' : 's'} whose server is dead: ${named.join(', ')}${orphans.length > 5 ? ', …' : ''}`,
    `Start \`meshfleet serve\` on this database: a live server takes them over within ${Math.round(staleAfterMs / 1000)} s (restarts or marks them interrupted).`);
}

export function checkLegacyLedger(ledgerPath: string, reader: HealthReader | undefined): CheckResult {
  if (!existsSync(ledgerPath)) return ok('legacy ledger', `none at ${ledgerPath}`);
  let sha256: string;
  try {
    sha256 = createHash('sha256').update(readFileSync(ledgerPath)).digest('hex');
  } catch (err) {
    return warn('legacy ledger', `${ledgerPath} cannot be read: ${(err as Error).message}`, 'Fix its permissions, or set AGENT_MESH_DATA_FILE to where the old ledger is.');
  }
  if (reader?.importedLedgers().has(sha256)) return ok('legacy ledger', `${ledgerPath} is imported`);
  return warn('legacy ledger', `${ledgerPath} (the old agent-mesh ledger) is not imported into this database`,
    'See what it holds with `meshfleet migrate --dry-run`, then import it with `meshfleet migrate` (the JSON file is never changed).');
}

export function checkRuntime(config: Config, db: string): CheckResult {
  let runtime: string;
  let agentCommand: string | undefined;
  try {
    ({ runtime, agentCommand } = config.serve({ db }));
  } catch (err) {
    // A ConfigError: serve would refuse to start with these settings.
    return fail('settings', (err as Error).message, 'Fix or unset that setting; `meshfleet serve --help` lists them.');
  }
  if (runtime === 'command') {
    const { program, path } = findProgram(agentCommand!, config.searchPath, config.cwd);
    return path === undefined
      ? fail('runtime', `MESHFLEET_AGENT_COMMAND runs ${JSON.stringify(program)}, which is not an executable on PATH`, 'Install it, give its full path in MESHFLEET_AGENT_COMMAND, or make the file executable (chmod +x).')
      : ok('runtime', `command: ${program} is ${path}`);
  }
  const opencode = findOnPath('opencode', config.searchPath);
  return opencode === undefined
    ? warn('runtime', 'opencode is not on PATH: spawned agents cannot start (messages, routing and templates still work)',
      'Install OpenCode (https://opencode.ai), or run agents with another program: MESHFLEET_RUNTIME=command MESHFLEET_AGENT_COMMAND="your agent command".')
    : ok('runtime', `opencode is ${opencode}`);
}

// HUB: when src/hub lands, add checkHub here (is a hub running for this database, does it answer)
// and call it from doctor.ts after checkRuntime.

function sizeOf(path: string): string {
  return formatBytes(statSync(path).size);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
