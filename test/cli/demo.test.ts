// meshfleet demo as a user runs it: the built CLI as a child process, its output checked against
// the database it names.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startNode } from '../helpers/children.js';
import { databasePerTest, queryDb } from '../helpers/database.js';
import { CLI, dumpDatabase, hasSqliteCli, runCli, runCliAsync, sha256 } from '../helpers/files.js';
import { eventually } from '../helpers/mesh.js';

let dir: string;
let dbPath: string;
databasePerTest((paths) => ({ dir, db: dbPath } = paths));

interface Row { [column: string]: unknown }

/** What the demo's output claims, read back from its lines. */
function claims(stdout: string) {
  const db = /^database: (.+)$/m.exec(stdout)?.[1];
  const fleet = /^ {2}fleet {7}(\S+) (\w+): (\d+) of (\d+) agents complete/m.exec(stdout);
  const messages = /^ {2}messages {4}(\d+) \((.*)\); (\d+) broadcasts?; (\d+) deliveries$/m.exec(stdout);
  // "   1.23s  planner   → coder  handoff: over to coder: …"
  const sent = [...stdout.matchAll(/^ +\d+\.\d\ds {2}(\S+) +→ (\S+) {2}(\w+): (.*)$/gm)].map((m) => ({ from: m[1], to: m[2], type: m[3], payload: m[4]! }));
  return { db, fleet, messages, sent };
}

/** The demo's messages as the database holds them, named by role as the output names them. */
function messagesByRole(path: string, fleetId: string) {
  return queryDb<Row>(path, `SELECT f.role AS "from", CASE m.to_agent_id WHEN '*' THEN 'everyone' ELSE t.role END AS "to", m.type, m.payload
    FROM messages m JOIN agents f ON f.id = m.from_agent_id LEFT JOIN agents t ON t.id = m.to_agent_id WHERE m.fleet_id = ? ORDER BY m.seq`, fleetId);
}

/** Live processes working on this database: the demo's server (--db PATH) and the agents and their servers (MESHFLEET_DB=PATH). */
function processesOn(path: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (cmdline.includes(path) || environ.includes(`MESHFLEET_DB=${path}`)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

describe('meshfleet demo', () => {
  it('runs the review pipeline to a complete fleet, and every message it prints is in the database it names', async () => {
    // Settings of the shell it runs in (even an agent's identity) do not reach the demo's server.
    const run = await runCliAsync(['demo'], { TMPDIR: dir, MESHFLEET_DB: join(dir, 'not-this.db'), MESHFLEET_AGENT_ID: 'agent-of-the-shell', MESHFLEET_RUNTIME: 'opencode' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(/\x1b\[/); // piped: plain text
    const { db, fleet, messages, sent } = claims(run.stdout);
    // A new file in a new folder under the temp dir, never MESHFLEET_DB.
    expect(db).toMatch(new RegExp(`^${dir}/meshfleet-demo-[^/]+/mesh\\.db$`));
    expect(existsSync(join(dir, 'not-this.db'))).toBe(false);
    expect(fleet?.slice(2)).toEqual(['complete', '3', '3']);
    const fleetId = fleet![1]!;

    expect(queryDb(db!, 'SELECT status FROM fleets')).toEqual([{ status: 'complete' }]);
    expect(queryDb(db!, 'SELECT role, status FROM agents ORDER BY rowid'))
      .toEqual([{ role: 'planner', status: 'complete' }, { role: 'coder', status: 'complete' }, { role: 'reviewer', status: 'complete' }]);
    const stored = messagesByRole(db!, fleetId);
    // Handoffs along the pipeline, the broadcasts, the routed task and its answer.
    expect(stored.map((m) => `${m.from}→${m.to}:${m.type}`)).toEqual([
      'planner→everyone:alert', 'planner→coder:handoff', 'coder→reviewer:handoff', 'reviewer→planner:result',
      'planner→coder:request_help', 'coder→planner:result', 'planner→everyone:alert',
    ]);
    expect(stored[4]!.payload).toMatch(/^task: write regression tests for the change \(route_work ranked coder first/);
    // Each printed message line is one stored message, in order; the summary counts them.
    expect(sent.map((s) => `${s.from}→${s.to}:${s.type}`)).toEqual(stored.map((m) => `${m.from}→${m.to}:${m.type}`));
    sent.forEach((s, i) => expect(String(stored[i]!.payload).startsWith(s.payload.replace(/…$/, ''))).toBe(true));
    expect(messages?.slice(1)).toEqual(['7', '2 alert, 2 handoff, 1 request_help, 2 result', '2', '9']);
    expect(queryDb(db!, 'SELECT count(*) AS n FROM deliveries')).toEqual([{ n: 9 }]);

    // The skills each agent registered, and the template saved and used.
    expect(queryDb(db!, 'SELECT a.role, group_concat(s.skill) AS skills FROM capability_skills s JOIN agents a ON a.id = s.agent_id GROUP BY a.id ORDER BY a.rowid'))
      .toEqual([{ role: 'planner', skills: 'planning,architecture' }, { role: 'coder', skills: 'typescript,node,testing' }, { role: 'reviewer', skills: 'review,security' }]);
    expect(queryDb(db!, 'SELECT name, version FROM templates')).toEqual([{ name: 'review-pipeline', version: 1 }]);
    expect(queryDb(db!, 'SELECT capability_key, succeeded FROM routing_outcomes')).toEqual([{ capability_key: 'tests', succeeded: 1 }]);
    expect(run.stdout).toMatch(/^What each agent reported \(collect_results\):\n {2}planner +complete +planner: handed to coder, routed "write regression tests for the change" to coder/m);

    // The commands it prints to look inside are there, and the sqlite3 one works as printed.
    expect(run.stdout).toContain(`meshfleet inspect --db ${db} --fleet ${fleetId}`);
    const printed = /^ {2}sqlite3 -header -column (\S+) '(select \* from fleet_summary)'$/m.exec(run.stdout);
    expect(printed?.[1]).toBe(db);
    if (hasSqliteCli()) {
      const answer = spawnSync('sqlite3', ['-header', '-column', printed![1]!, printed![2]!], { encoding: 'utf8' });
      expect(answer.stdout).toContain(fleetId);
    }
  });

  it('--example frontend-bug-bash --db PATH runs that template on that file', async () => {
    const run = await runCliAsync(['demo', '--example', 'frontend-bug-bash', '--db', dbPath]);
    expect(run.code, run.stderr).toBe(0);
    const { db, fleet } = claims(run.stdout);
    expect(db).toBe(dbPath);
    expect(fleet?.slice(2)).toEqual(['complete', '4', '4']);
    expect(queryDb(dbPath, 'SELECT role, status FROM agents ORDER BY rowid').map((a) => `${a.role}:${a.status}`))
      .toEqual(['triager:complete', 'react-fixer:complete', 'css-fixer:complete', 'qa-verifier:complete']);
    const routed = messagesByRole(dbPath, fleet![1]!).filter((m) => m.type === 'request_help');
    expect(routed).toEqual([expect.objectContaining({ from: 'triager', to: 'qa-verifier' })]);
    expect(queryDb(dbPath, 'SELECT name FROM templates')).toEqual([{ name: 'frontend-bug-bash' }]);
  });

  it('refuses a --db that already holds fleets, leaving it as it was', async () => {
    expect((await runCliAsync(['demo', '--db', dbPath])).code).toBe(0);
    const before = { hash: sha256(dbPath), rows: dumpDatabase(dbPath) };
    const again = runCli(['demo', '--db', dbPath]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds 1 fleet and 1 template; the demo writes only to a new or empty database/);
    expect(again.stderr).toMatch(/leave out --db for a new database in a temp folder/);
    expect(again.stdout).toBe('');
    expect(sha256(dbPath)).toBe(before.hash);
    expect(dumpDatabase(dbPath)).toEqual(before.rows);
  });

  it('says what is wrong with a bad --example or --db, and starts nothing', () => {
    const bad = runCli(['demo', '--example', 'nope'], { TMPDIR: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--example must be one of frontend-bug-bash, review-pipeline; got 'nope'/);
    const missing = runCli(['demo', '--db', join(dir, 'no-such-folder', 'mesh.db')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the folder .*no-such-folder does not exist/);
    writeFileSync(join(dir, 'notes.txt'), 'not a database\n');
    const foreign = runCli(['demo', '--db', join(dir, 'notes.txt')]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(readdirSync(dir).sort()).toEqual(['notes.txt']);
  });

  it.runIf(existsSync('/proc/self/environ'))('killed with SIGKILL mid-run, it leaves no server or agent behind', async () => {
    const demo = startNode([CLI, 'demo', '--db', dbPath]);
    await demo.line(/→ coder {2}handoff/);
    expect(processesOn(dbPath).length).toBeGreaterThan(1);
    await demo.kill9();
    // Its server sees stdin close and stops its agents (and their own servers) on its way out.
    await eventually(() => expect(processesOn(dbPath)).toEqual([]), 30_000);
    expect(queryDb(dbPath, "SELECT count(*) AS n FROM agents WHERE status IN ('pending', 'running')")).toEqual([{ n: 0 }]);
  });

  it('stops quietly when its reader goes away (meshfleet demo | head), fleet included', async () => {
    const demo = startNode([CLI, 'demo', '--db', dbPath]);
    await demo.line(/^database: /);
    demo.child.stdout!.destroy();
    expect((await demo.exited).code).toBe(1);
    expect(demo.stderr()).toBe('');
    await eventually(() => expect(processesOn(dbPath)).toEqual([]), 30_000);
  });
});
