// Which database `meshfleet demo` writes: a new file in a new temp folder, or the --db given, if
// that holds no fleets or templates yet. The demo adds a fleet, its messages and a template, and
// none of that belongs in a mesh someone already uses.
import { existsSync, mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config.js';
import { MeshError } from '../mesh/errors.js';
import { listFleets } from '../mesh/fleets.js';
import { listTemplates } from '../mesh/templates.js';
import { openSnapshot } from '../store/open.js';

export function demoDatabase(config: Config, flag: string | undefined): { path: string; fresh: boolean } {
  // Not MESHFLEET_DB: a demo that fills the user's everyday database by default would be a bad surprise.
  if (flag === undefined) return { path: join(mkdtempSync(join(config.tempDir, 'meshfleet-demo-')), 'mesh.db'), fresh: true };
  const { path } = config.database(flag);
  if (!existsSync(dirname(path))) {
    throw new MeshError('invalid', `--db ${path}: the folder ${dirname(path)} does not exist.`,
      'Create the folder first, or leave out --db for a new database in a temp folder.');
  }
  if (!existsSync(path)) return { path, fresh: true };
  // A copy in memory: looking must not migrate or otherwise change a file the demo may refuse.
  const snapshot = openSnapshot(path);
  try {
    const fleets = listFleets(snapshot, { offset: 0, limit: 1_000 }).length;
    const templates = listTemplates(snapshot).length;
    if (fleets > 0 || templates > 0) {
      throw new MeshError('refused', `--db ${path} already holds ${count(fleets, 'fleet')} and ${count(templates, 'template')}; the demo writes only to a new or empty database, so it never mixes its fleet into yours.`,
        'Pass a path that does not exist yet, or leave out --db for a new database in a temp folder.');
    }
  } finally {
    snapshot.close();
  }
  return { path, fresh: false };
}

const count = (n: number, noun: string): string => `${n === 1_000 ? 'at least 1000' : n} ${noun}${n === 1 ? '' : 's'}`;
