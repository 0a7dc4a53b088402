// What `meshfleet doctor` reads from a database: on a read-only connection, or on a private copy,
// so that looking changes nothing (not the file, not its -wal or -shm, not the folder).
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

export interface UnfinishedAgent {
  id: string;
  fleetId: string;
  status: string;
  supervisorId: string;
  /** The supervisor's row, or null when it is gone (a server that stopped without settling its agents). */
  supervisor: { pid: number; pidStart: string | null; heartbeatAt: number } | null;
}

export interface HealthReader {
  /** PRAGMA integrity_check's findings; ['ok'] when there are none. At most `limit` lines. */
  integrity(limit: number): string[];
  journalMode(): string;
  /** Pending or running agents that a server supervises (schema 3 and later). */
  supervisedUnfinished(): UnfinishedAgent[];
  /** The sha256 of every legacy ledger imported so far. */
  importedLedgers(): Set<string>;
  close(): void;
}

/**
 * Opens `path` for reading without changing anything. A read-only connection needs the -wal and
 * -shm files (it would create them when they are missing), so without both the database is read
 * from a private copy of the main file and its -wal instead.
 */
export function openHealthReader(Database: typeof BetterSqlite3, path: string): HealthReader {
  let copyDir: string | undefined;
  let db: BetterSqlite3.Database;
  if (existsSync(`${path}-wal`) && existsSync(`${path}-shm`)) {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5_000 });
  } else {
    copyDir = mkdtempSync(join(tmpdir(), 'meshfleet-doctor-'));
    const copy = join(copyDir, 'copy.db');
    copyFileSync(path, copy);
    // Whichever log it has: a -wal to replay, or a rollback -journal left by a crash to undo.
    for (const log of ['-wal', '-journal']) if (existsSync(`${path}${log}`)) copyFileSync(`${path}${log}`, `${copy}${log}`);
    try {
      db = new Database(copy, { fileMustExist: true, timeout: 5_000 });
    } catch (err) {
      rmSync(copyDir, { recursive: true, force: true });
      throw err;
    }
  }
  return {
    integrity: (limit) => db.prepare(`PRAGMA integrity_check(${Math.max(1, Math.floor(limit))})`).pluck().all() as string[],
    journalMode: () => {
      // A copy made without its -wal reads as WAL from its header; the file's own header says the same.
      const mode = db.pragma('journal_mode', { simple: true }) as string;
      return mode.toLowerCase();
    },
    supervisedUnfinished: () => (db.prepare(`
      SELECT a.id, a.fleet_id, a.status, a.supervisor_id, s.pid, s.pid_start, s.heartbeat_at
      FROM agents a LEFT JOIN supervisors s ON s.id = a.supervisor_id
      WHERE a.status IN ('pending', 'running') AND a.supervisor_id IS NOT NULL
      ORDER BY a.fleet_id, a.id`).all() as {
      id: string; fleet_id: string; status: string; supervisor_id: string; pid: number | null; pid_start: string | null; heartbeat_at: number | null;
    }[]).map((r) => ({
      id: r.id,
      fleetId: r.fleet_id,
      status: r.status,
      supervisorId: r.supervisor_id,
      supervisor: r.pid === null ? null : { pid: r.pid, pidStart: r.pid_start, heartbeatAt: r.heartbeat_at! },
    })),
    importedLedgers: () => new Set(db.prepare('SELECT sha256 FROM legacy_imports').pluck().all() as string[]),
    close: () => {
      db.close();
      if (copyDir !== undefined) rmSync(copyDir, { recursive: true, force: true });
    },
  };
}
