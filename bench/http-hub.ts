// The hub's HTTP endpoint alone in a process, for bench/http.bench.ts: clients and server must
// not share one event loop. Usage: node http-hub.js <db>; prints the MCP URL, answers each "cpu"
// line on stdin with the CPU time it has used so far (µs, user + system), runs until stdin closes.
import { createInterface } from 'node:readline';
import { startHttpEndpoint } from '../src/hub/http.js';
import { createToolDeps } from '../src/mcp/server.js';
import { openStore } from '../src/store/open.js';

const [dbPath] = process.argv.slice(2);
const store = openStore(dbPath!);
const deps = createToolDeps(store, {
  version: 'bench', runtime: { runtime: 'command', agentCommand: 'true', dbPath: dbPath! }, push: {},
  env: { PATH: process.env.PATH }, projectDir: process.cwd(), homeDir: process.cwd(),
});
const endpoint = await startHttpEndpoint(deps);
process.stdout.write(`${endpoint.mcpUrl}\n`);
createInterface({ input: process.stdin }).on('line', () => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(`cpu ${user + system}\n`);
});
process.stdin.once('end', () => {
  void endpoint.close().then(() => deps.close()).then(() => store.close());
});
