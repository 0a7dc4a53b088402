// Two stores on one file in one process (a test, a tool and the hub's endpoint, a script), with a
// sqlite3 that reads and exits beside them: the first store's locks must survive the second's
// open, or that sqlite3 takes the file as unused and removes the -wal under the live connection.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createFleet } from '../../src/mesh/fleets.js';
import { openStore } from '../../src/store/open.js';
import { databasePerTest, rawDatabase } from '../helpers/database.js';
import { hasSqliteCli } from '../helpers/files.js';

let dbPath: string;
databasePerTest((paths) => ({ db: dbPath } = paths));

describe('a second store on a file this process has open', () => {
  it.skipIf(!hasSqliteCli())('leaves the first connection its locks: a sqlite3 that reads and exits does not empty the -wal under it', () => {
    const first = openStore(dbPath);
    const second = openStore(dbPath);
    try {
      createFleet(first, [{ role: 'a', prompt: 'p' }]);
      const walBefore = statSync(`${dbPath}-wal`).size;
      expect(walBefore).toBeGreaterThan(0);
      const cli = spawnSync('sqlite3', [dbPath, 'SELECT count(*) FROM fleets;'], { encoding: 'utf8' });
      expect(cli.status, cli.stderr).toBe(0);
      expect(cli.stdout.trim()).toBe('1');
      // The live connections' -wal is still there, whole, and every reader sees the fleet.
      expect(existsSync(`${dbPath}-wal`)).toBe(true);
      expect(statSync(`${dbPath}-wal`).size).toBe(walBefore);
      createFleet(second, [{ role: 'b', prompt: 'p' }]);
      expect(rawDatabase(dbPath).value('SELECT count(*) FROM fleets')).toBe(2);
    } finally {
      second.close();
      first.close();
    }
  });

  it('is still checked when the only store on the file has closed: a file swapped for another program\'s is refused', () => {
    openStore(dbPath).close();
    rawDatabase(dbPath).exec("PRAGMA application_id = 12345; DELETE FROM meshfleet_meta WHERE key = 'schema_version';");
    expect(() => openStore(dbPath)).toThrow(/not|Meshfleet/i);
  });
});
