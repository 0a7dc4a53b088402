// npm run bench (start): how long a host waits for meshfleet, from spawning the process to the
// answer it needs, beside a bare Node start. Hosts start `meshfleet serve` once per session;
// `--version` and `--help` are what a person types first.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Bench } from 'tinybench';
import { openStore } from '../src/store/open.js';
import { packageRoot } from '../src/store/package-root.js';
import { scratchDir } from './fixtures.js';
import { report } from './report.js';

/** What npm installs as `meshfleet`: the CLI bundled into a few files (package.json's bin). */
const BIN = join(packageRoot, 'dist', 'bin', 'main.js');
/** The same CLI as tsc leaves it, one file per module; BENCH_START_CLI=… measures another build instead (an older one, for before/after figures). */
const CLI = process.env.BENCH_START_CLI ?? join(packageRoot, 'dist', 'src', 'cli', 'main.js');
/** Runs per subject; BENCH_START_RUNS=5 for a quick look. */
const RUNS = Number(process.env.BENCH_START_RUNS ?? 30);
const FLOOR = "node -e '' (bare Node start)";

/** The least an MCP server in Node can do: answer initialize and tools/list, nothing loaded. */
const BARE_MCP = `process.stdin.on('data', (d) => { for (const l of d.toString().split('\\n')) { if (!l) continue; const m = JSON.parse(l);
  if (m.id === undefined) continue; const result = m.method === 'initialize'
    ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'bare', version: '0' } } : { tools: [] };
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n'); } });`;

function run(args: string[]): void {
  const result = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}`);
}

/** Spawn, initialize, tools/list; the process is stopped afterwards, outside the timing. */
function toolsList(args: string[], env: Record<string, string>): { fn: () => Promise<void>; afterEach: () => Promise<void> } {
  let client: Client | undefined;
  return {
    fn: async () => {
      client = new Client({ name: 'bench', version: '0' });
      await client.connect(new StdioClientTransport({ command: process.execPath, args, env: { PATH: process.env.PATH ?? '', ...env }, stderr: 'ignore' }));
      await client.listTools();
    },
    afterEach: async () => {
      await client?.close();
    },
  };
}

async function main(): Promise<void> {
  const scratch = scratchDir();
  const db = join(scratch.dir, 'mesh.db');
  openStore(db).close(); // created and migrated once: the timing is of a start, not of a first run
  const env = { HOME: scratch.dir, MESHFLEET_DB: db };

  const exits = new Bench({ name: `spawn to exit, ${RUNS} runs each`, time: 0, iterations: RUNS, warmupIterations: 2 });
  exits.add(FLOOR, () => run(['-e', '']));
  exits.add('meshfleet --version', () => run([BIN, '--version']));
  exits.add('meshfleet --help', () => run([BIN, '--help']));
  exits.add('--version, unbundled (dist/src)', () => run([CLI, '--version']));
  await exits.run();
  report(exits, FLOOR);

  const answers = new Bench({ name: `spawn to the tools/list answer over stdio (SDK client), ${RUNS} runs each`, time: 0, iterations: RUNS, warmupIterations: 2 });
  answers.add(FLOOR, () => run(['-e', '']));
  const bare = toolsList(['-e', BARE_MCP], env);
  answers.add('bare Node MCP responder (no SDK)', bare.fn, { afterEach: bare.afterEach });
  const serve = toolsList([BIN, 'serve'], env);
  answers.add('meshfleet serve', serve.fn, { afterEach: serve.afterEach });
  const unbundled = toolsList([CLI, 'serve'], env);
  answers.add('serve, unbundled (dist/src)', unbundled.fn, { afterEach: unbundled.afterEach });
  await answers.run();
  report(answers, FLOOR);
  scratch.dispose();
}

await main();
