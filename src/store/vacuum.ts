// The file's pages: how many there are, and giving free ones back to the file system.
import type BetterSqlite3 from 'better-sqlite3';

export type AutoVacuum = 'none' | 'full' | 'incremental';

export interface VacuumStatements {
  /** The database's size as SQLite counts it (page_count × page_size), free pages included. */
  bytes(): number;
  autoVacuum(): AutoVacuum;
  /**
   * VACUUM rewrites the whole file under the write lock; writers of other processes wait (and
   * fail after their busy timeout). In WAL mode the rewritten pages land in the WAL, so a
   * TRUNCATE checkpoint follows to give the space back to the file system; it stops short,
   * harmlessly, while another connection still reads an older snapshot. The full-text index is
   * merged first, so what prune deleted from it is freed too.
   */
  full(): void;
  /** Frees every page on the freelist; only does anything with auto_vacuum = INCREMENTAL. */
  incremental(): void;
}

export function prepareVacuumStatements(db: BetterSqlite3.Database): VacuumStatements {
  return {
    bytes: () => (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number),
    autoVacuum: () => {
      const mode = db.pragma('auto_vacuum', { simple: true }) as number;
      return mode === 1 ? 'full' : mode === 2 ? 'incremental' : 'none';
    },
    full: () => {
      // A delete from the full-text index (migration 0011) only records that the entry is gone;
      // merging the index's segments drops deleted entries for good, so VACUUM can free their pages.
      db.exec("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')");
      db.exec('VACUUM');
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    incremental: () => {
      db.pragma('incremental_vacuum');
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
  };
}
