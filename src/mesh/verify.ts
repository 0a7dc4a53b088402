// `meshfleet verify` and verify_ledger: named consistency checks, and the ledger chain recomputed
// (migrations/NNNN-ledger-chain.sql). Reads one snapshot; never writes.
import { CONSISTENCY_CHECKS, type CheckLevel } from '../store/consistency-checks.js';
import type { AuditCounts, StoredLink } from '../store/ledger-audit.js';
import { CHAINED_COLUMNS, GENESIS_HASH, linkHash, rowHash, type ChainedTable } from '../store/ledger-chain.js';
import type { Store } from '../store/open.js';
import { EXAMPLES_PER_CHECK } from '../store/ledger-audit.js';
import { MeshError } from './errors.js';

export interface CheckResult {
  name: string;
  level: CheckLevel;
  about: string;
  /** Problems found; 0 is a pass. */
  found: number;
  /** The first few, each naming its record. */
  examples: string[];
}

/** A head of the chain a person keeps elsewhere: the link at `position` had `chainHash`. */
export interface ChainHead {
  position: number;
  chainHash: string;
}

export interface ChainProblem {
  check: string;
  /** The link's position; null for a row that has no link. */
  position: number | null;
  table: string;
  /** messages.seq or events.id */
  id: number;
  problem: string;
}

export interface VerifyReport {
  database: string;
  checkedAt: number;
  /** No check at level error found anything. */
  ok: boolean;
  errors: number;
  warnings: number;
  counts: AuditCounts;
  checks: CheckResult[];
  chain: {
    head: ChainHead;
    /** The first problem in chain order: the earliest row altered, deleted or out of order. */
    firstProblem: ChainProblem | null;
    /** Rows that existed before the chain, linked by the upgrade that added it. */
    backfilledRows: number;
    startedAt: number | null;
    legacyImports: number;
  };
}

const CHAIN_CHECKS = {
  links: { name: 'chain_links', level: 'error', about: 'Every link follows from the one before: none edited, moved, inserted or deleted.' },
  rows: { name: 'chain_rows', level: 'error', about: 'Every chained message and event is still there, unchanged (rows prune removed are marked so).' },
  order: { name: 'chain_order', level: 'error', about: 'Messages and events are chained in the order they were written (seq, id), each once.' },
  coverage: { name: 'chain_coverage', level: 'error', about: 'Every message and event has a link (a row without one was inserted behind Meshfleet\'s back).' },
  pruned: { name: 'chain_pruned_of_live_fleet', level: 'warning', about: 'Links marked pruned whose fleet is still here (a prune in progress, a fleet re-opened mid-prune, or a row deleted and marked by hand).' },
  head: { name: 'chain_head', level: 'error', about: 'The chain still holds the kept head at its position (a rewritten or cut-back chain fails).' },
} as const;

export function verifyLedger(store: Store, options: { against?: ChainHead; now?: number } = {}): VerifyReport {
  const audit = store.audit;
  return audit.snapshot(() => {
    const checks: CheckResult[] = CONSISTENCY_CHECKS.map((c) => ({ name: c.name, level: c.level, about: c.about, ...audit.runCheck(c) }));
    const problems: ChainProblem[] = [];
    const chained = audit.hasChain();
    const head = chained ? walk(store, problems) : { position: 0, chainHash: GENESIS_HASH };
    const results = new Map<string, CheckResult>(Object.values(CHAIN_CHECKS).map((c) => [c.name, { ...c, found: 0, examples: [] }]));
    for (const p of problems) note(results.get(p.check)!, describe(p));
    if (chained) {
      for (const table of ['messages', 'events'] as const) {
        const { found, first } = audit.unchained(table);
        const coverage = results.get(CHAIN_CHECKS.coverage.name)!;
        coverage.found += found;
        for (const id of first) {
          const p = { check: coverage.name, position: null, table, id, problem: `${table} ${keyName(table)} ${id} has no link: it was inserted behind Meshfleet's back` };
          problems.push(p);
          if (coverage.examples.length < EXAMPLES_PER_CHECK) coverage.examples.push(describe(p));
        }
      }
      Object.assign(results.get(CHAIN_CHECKS.pruned.name)!, audit.prunedOfLiveFleets());
    } else {
      note(results.get(CHAIN_CHECKS.links.name)!, 'this database has no ledger chain yet: open it with this build of meshfleet once to add it');
    }
    if (options.against === undefined) results.delete(CHAIN_CHECKS.head.name);
    else checkHead(results.get(CHAIN_CHECKS.head.name)!, options.against, head, audit.linkAt(options.against.position));
    const all = [...checks, ...results.values()];
    const failing = (level: CheckLevel) => all.filter((c) => c.level === level && c.found > 0).length;
    const startedAt = audit.meta('chain_started_at');
    return {
      database: store.path,
      checkedAt: options.now ?? Date.now(),
      ok: failing('error') === 0,
      errors: failing('error'),
      warnings: failing('warning'),
      counts: audit.counts(),
      checks: all,
      chain: {
        head,
        firstProblem: problems.find((p) => p.position !== null) ?? problems[0] ?? null,
        backfilledRows: Number(audit.meta('chain_backfilled_rows') ?? 0),
        startedAt: startedAt === undefined ? null : Number(startedAt),
        legacyImports: audit.legacyImports().count,
      },
    };
  });
}

const keyName = (table: string): string => (table === 'messages' ? 'seq' : 'id');

function describe(p: ChainProblem): string {
  return p.position === null ? p.problem : `link ${p.position}: ${p.problem}`;
}

function note(result: CheckResult, example: string): void {
  result.found += 1;
  if (result.examples.length < EXAMPLES_PER_CHECK) result.examples.push(example);
}

/** Recomputes every link in position order; returns the chain's head as stored. */
function walk(store: Store, problems: ChainProblem[]): ChainHead {
  let previous = GENESIS_HASH;
  let expected = 1;
  const lastLive: Record<string, number> = {};
  const problem = (check: { name: string }, link: StoredLink, text: string) =>
    problems.push({ check: check.name, position: link.position, table: link.refTable, id: link.refId, problem: text });
  store.audit.walkChain((link) => {
    const what = `${link.refTable} ${keyName(link.refTable)} ${link.refId}`;
    if (link.position !== expected) {
      problem(CHAIN_CHECKS.links, link, `links ${expected}–${link.position - 1} are missing before ${what}: links were deleted`);
    } else if (linkHash(previous, { ...link, refTable: link.refTable as ChainedTable }) !== link.chainHash) {
      problem(CHAIN_CHECKS.links, link, `${what}: the link does not follow from link ${link.position - 1} (a link was edited, moved or inserted)`);
    }
    previous = link.chainHash;
    expected = link.position + 1;
    if (link.prunedAt !== null) return;
    if (!Object.hasOwn(CHAINED_COLUMNS, link.refTable)) {
      problem(CHAIN_CHECKS.links, link, `names table "${link.refTable}", which is not chained`);
      return;
    }
    const table = link.refTable as ChainedTable;
    if (link.row === undefined) {
      problem(CHAIN_CHECKS.rows, link, `${what} was deleted (not by prune)`);
    } else if (rowHash(table, link.row) !== link.rowHash) {
      problem(CHAIN_CHECKS.rows, link, `${what}${table === 'messages' ? ` (message "${String(link.row[1])}")` : ''} was altered: its content differs from what was chained`);
    }
    if (link.refId <= (lastLive[table] ?? -Infinity)) {
      problem(CHAIN_CHECKS.order, link, `${what} is chained after ${keyName(table)} ${lastLive[table]}: out of order, or chained twice`);
    }
    lastLive[table] = Math.max(link.refId, lastLive[table] ?? -Infinity);
  });
  return { position: expected - 1, chainHash: expected === 1 ? GENESIS_HASH : previous };
}

function checkHead(result: CheckResult, kept: ChainHead, head: ChainHead, stored: { chainHash: string } | undefined): void {
  if (kept.position === 0) return;
  if (stored === undefined) {
    note(result, `the kept head is link ${kept.position}, but the chain ends at link ${head.position}: it was cut back (links deleted)`);
  } else if (stored.chainHash !== kept.chainHash) {
    note(result, `link ${kept.position} has hash ${stored.chainHash}, the kept head says ${kept.chainHash}: the chain was rewritten at or before it`);
  }
}

/** The JSON a person keeps: what --export writes and --against reads. */
export const HEAD_FORMAT = 'meshfleet-ledger-head/1';

export function headJson(report: VerifyReport): Record<string, unknown> {
  return {
    format: HEAD_FORMAT,
    database: report.database,
    position: report.chain.head.position,
    chain_hash: report.chain.head.chainHash,
    exported_at: new Date(report.checkedAt).toISOString(),
  };
}

/** Reads a kept head (--against); a file that is not one is the user's to fix. */
export function parseHead(text: string, source: string): ChainHead {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MeshError('invalid', `${source} is not JSON.`, 'Pass a file written by `meshfleet verify --export`.');
  }
  const head = value as { format?: unknown; position?: unknown; chain_hash?: unknown };
  if (typeof value !== 'object' || value === null || head.format !== HEAD_FORMAT) {
    throw new MeshError('invalid', `${source} is not a ledger head (its format is not "${HEAD_FORMAT}").`, 'Pass a file written by `meshfleet verify --export`.');
  }
  return checkedHead(head.position, head.chain_hash, source);
}

/** A head given as fields (verify_ledger's against_position and against_hash, or a file's). */
export function checkedHead(position: unknown, chainHash: unknown, source: string): ChainHead {
  if (!Number.isSafeInteger(position) || (position as number) < 0) {
    throw new MeshError('invalid', `${source}: position must be a whole number, 0 or more; got ${JSON.stringify(position)}.`, 'Use the position of a head written by `meshfleet verify --export`.');
  }
  if (typeof chainHash !== 'string' || !/^[0-9a-f]{64}$/.test(chainHash)) {
    throw new MeshError('invalid', `${source}: chain_hash must be 64 lower-case hex digits.`, 'Use the chain_hash of a head written by `meshfleet verify --export`.');
  }
  return { position: position as number, chainHash };
}

/** The report as --json and verify_ledger give it: snake_case. */
export function verifyReportJson(report: VerifyReport, against?: ChainHead): Record<string, unknown> {
  const first = report.chain.firstProblem;
  return {
    database: report.database,
    checked_at: new Date(report.checkedAt).toISOString(),
    ok: report.ok,
    errors: report.errors,
    warnings: report.warnings,
    counts: report.counts,
    checks: report.checks.map((c) => ({ name: c.name, level: c.level, passed: c.found === 0, found: c.found, about: c.about, examples: c.examples })),
    chain: {
      head: { position: report.chain.head.position, chain_hash: report.chain.head.chainHash },
      first_problem: first === null ? null : { check: first.check, position: first.position, table: first.table, id: first.id, problem: first.problem },
      backfilled_rows: report.chain.backfilledRows,
      started_at: report.chain.startedAt === null ? null : new Date(report.chain.startedAt).toISOString(),
      legacy_imports: report.chain.legacyImports,
      ...(against === undefined ? {} : { against: { position: against.position, chain_hash: against.chainHash } }),
    },
  };
}
