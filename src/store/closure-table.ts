// The skill taxonomy's tables (migration 0001): skills (id, name, parent_id) and skill_closure,
// every ancestor/descendant pair with its distance. Replaced whole, inside the caller's write.
import type BetterSqlite3 from 'better-sqlite3';

export interface NewSkill {
  name: string;
  /** Index of the parent in the same list, before this node; null for a top-level skill. */
  parent: number | null;
}

export interface SkillRow {
  id: number;
  name: string;
  parent_id: number | null;
}

export interface TaxonomyStatements {
  /**
   * Empties both tables, whatever an older build left in them, in time that does not grow with
   * the depth of the old tree. Call inside a write transaction.
   */
  clear(): void;
  /** Inserts nodes as ids 1…n (position + 1) with their closure pairs; returns the pair count. */
  insert(nodes: readonly NewSkill[]): number;
  /** Every node, in id order (parents before children for trees this build wrote). */
  nodes(): SkillRow[];
}

/**
 * Above this many closure rows, clear() drops and recreates skill_closure instead of deleting
 * its rows: small trees (the default one has ~500 pairs) keep the schema untouched.
 */
const DELETE_ROWS_AT_MOST = 10_000;
/** Closure pairs per INSERT: 600 parameters, below SQLite's oldest limit of 999. */
const PAIRS_PER_INSERT = 200;

/** The taxonomy's statements for one connection (the Store prepares them on first use, once). */
export function prepareTaxonomyStatements(db: BetterSqlite3.Database): TaxonomyStatements {
  const closureHasMoreThan = db.prepare('SELECT count(*) FROM (SELECT 1 FROM skill_closure LIMIT ?)').pluck();
  const deleteClosure = db.prepare('DELETE FROM skill_closure');
  const closureDefinitions = db.prepare(
    "SELECT sql FROM sqlite_schema WHERE tbl_name = 'skill_closure' AND sql IS NOT NULL ORDER BY type <> 'table', rowid").pluck();
  // parent_id is ON DELETE CASCADE, and SQLite runs each cascade one trigger level deeper than
  // the last: deleting a chain over 1,000 deep (SQLITE_MAX_TRIGGER_DEPTH) fails outright, and
  // shallower ones pay per level. Cutting every link first leaves nothing to cascade.
  const unlinkSkills = db.prepare('UPDATE skills SET parent_id = NULL WHERE parent_id IS NOT NULL');
  const deleteSkills = db.prepare('DELETE FROM skills');
  const insertSkill = db.prepare('INSERT INTO skills (id, name, parent_id) VALUES (?, ?, ?)');
  const insertPairs = db.prepare(
    `INSERT INTO skill_closure (ancestor_id, descendant_id, depth) VALUES ${Array(PAIRS_PER_INSERT).fill('(?, ?, ?)').join(', ')}`);
  const insertPair = db.prepare('INSERT INTO skill_closure (ancestor_id, descendant_id, depth) VALUES (?, ?, ?)');
  const selectNodes = db.prepare('SELECT id, name, parent_id FROM skills ORDER BY id');

  const clearClosure = (): void => {
    if ((closureHasMoreThan.get(DELETE_ROWS_AT_MOST + 1) as number) <= DELETE_ROWS_AT_MOST) {
      deleteClosure.run();
      return;
    }
    // With foreign keys on, SQLite deletes a child table's rows one by one, keeping both of its
    // indexes: 12 s for the 4.5 M pairs of a 3,000-deep chain an older build wrote. DROP TABLE
    // of a table nothing references only frees its pages (0.2 s); it is SQLite's TRUNCATE. The
    // table and its indexes come back from their own stored definitions, so whatever migration
    // shaped them last still holds. Other connections re-read the schema once on their next
    // statement.
    const definitions = closureDefinitions.all() as string[];
    db.exec('DROP TABLE skill_closure');
    for (const sql of definitions) db.exec(sql);
  };

  return {
    clear: () => {
      clearClosure(); // first: its rows reference skills
      unlinkSkills.run();
      deleteSkills.run();
    },
    insert: (nodes) => {
      nodes.forEach((node, index) => insertSkill.run(index + 1, node.name, node.parent === null ? null : node.parent + 1));
      // Pairs go in primary-key order (ancestor, then descendant), so that b-tree only appends.
      // Walking nodes in order, each node joins the descendant list of each of its ancestors;
      // those lists therefore come out sorted.
      const descendants: number[][] = nodes.map((_, index) => [index, 0]); // flat (descendant, distance) pairs
      const ancestors: number[][] = [];
      nodes.forEach((node, index) => {
        const chain = node.parent === null ? [] : [node.parent, ...ancestors[node.parent]!];
        ancestors.push(chain);
        chain.forEach((ancestor, distance) => descendants[ancestor]!.push(index, distance + 1));
      });
      const batch: number[] = [];
      let pairs = 0;
      descendants.forEach((list, ancestor) => {
        for (let i = 0; i < list.length; i += 2) {
          batch.push(ancestor + 1, list[i]! + 1, list[i + 1]!);
          if (batch.length === PAIRS_PER_INSERT * 3) {
            insertPairs.run(batch);
            batch.length = 0;
          }
        }
        pairs += list.length / 2;
      });
      for (let i = 0; i < batch.length; i += 3) insertPair.run(batch[i], batch[i + 1], batch[i + 2]);
      return pairs;
    },
    nodes: () => selectNodes.all() as SkillRow[],
  };
}
