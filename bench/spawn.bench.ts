// npm run bench (fifth part): how soon an agent's process runs after spawn_fleet, with the hub
// (the server records the agent, the hub claims and starts it) beside a server that starts its
// agents itself (--no-hub, as before hubs). Both over a real stdio connection to `meshfleet serve`.
//
// "Running" is the agent's started_at: the moment its starter had the process's pid back from
// spawn(), stamped in the same clock as the host's. Without a hub that happens inside the call,
// so "return → running" is at most 0; with a hub it is the wait the hub adds.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import BetterSqlite3 from 'better-sqlite3';
import { Bench } from 'tinybench';
import { packageRoot } from '../src/store/package-root.js';
import { scratchDir } from './fixtures.js';
import { report } from './report.js';

const CLI = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 100);

interface Subject {
  label: string;
  client: Client;
  db: BetterSqlite3.Database;
  /** spawn_fleet's return → the agent's process running, per spawn. */
  afterReturnMs: number[];
}

async function subject(label: string, dbPath: string, env: Record<string, string>): Promise<Subject> {
  const transport = new StdioClientTransport({
    command: process.execPath, args: [CLI, 'serve', '--db', dbPath],
    // The agent is `sleep 1` through the shell: cheap, and still running when it is looked at.
    env: { PATH: process.env.PATH ?? '', MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'sleep 1', MESHFLEET_HUB_IDLE_MS: '5000', ...env },
  });
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(transport);
  return { label, client, db: new BetterSqlite3(dbPath, { readonly: true }), afterReturnMs: [] };
}

/** One spawn_fleet of one agent; resolves once the agent has started. */
async function spawnOne(s: Subject): Promise<void> {
  const result = await s.client.callTool({ name: 'spawn_fleet', arguments: { agents: [{ role: 'bench', prompt: 'p' }] } });
  const returnedAt = Date.now();
  const { agent_ids: [agentId] } = JSON.parse((result.content as { text: string }[])[0]!.text);
  const startedAt = s.db.prepare('SELECT started_at FROM agents WHERE id = ?').pluck();
  for (;;) {
    const at = startedAt.get(agentId) as number | null;
    if (at !== null) {
      s.afterReturnMs.push(at - returnedAt);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function main(): Promise<void> {
  const scratch = scratchDir();
  const hubDb = join(scratch.dir, 'hub.db');
  const subjects = [
    await subject('in-process (--no-hub)', join(scratch.dir, 'own.db'), { MESHFLEET_NO_HUB: '1' }),
    await subject('hub (default)', hubDb, {}),
  ];
  // Our own warm-up (the first spawn on the hub's database also starts the hub), left out of the figures.
  for (const s of subjects) {
    for (let i = 0; i < 3; i++) await spawnOne(s);
    s.afterReturnMs.length = 0;
  }
  const bench = new Bench({ name: `spawn_fleet of one agent until its process runs, ${SPAWNS} spawns, over stdio`, time: 0, iterations: SPAWNS, warmup: false });
  for (const s of subjects) bench.add(s.label, () => spawnOne(s));
  await bench.run();
  report(bench, 'in-process (--no-hub)');
  console.log('\nspawn_fleet returned → agent process running (≤ 0: it ran before the call returned)');
  console.table(subjects.map((s) => {
    const sorted = [...s.afterReturnMs].sort((a, b) => a - b);
    return { subject: s.label, p50: `${quantile(sorted, 0.5)} ms`, p95: `${quantile(sorted, 0.95)} ms`, max: `${sorted.at(-1)} ms`, samples: sorted.length };
  }));
  for (const s of subjects) {
    await s.client.close();
    s.db.close();
  }
  // The hub outlives its server by design; stop it, as a user would.
  spawnSync(process.execPath, [CLI, 'hub', 'stop', '--db', hubDb], { stdio: 'ignore' });
  scratch.dispose();
}

await main();
