// meshfleet demo: a whole fleet on the shipped test agent, no LLM. It drives a real `meshfleet
// serve` child through the MCP SDK's client, as a host would, and narrates what the agents do by
// reading the database they share.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { activityCursor, activitySince, fleetMessageCounts } from '../mesh/activity.js';
import { MeshError } from '../mesh/errors.js';
import { openStore, type Store } from '../store/open.js';
import { packageRoot } from '../store/package-root.js';
import type { Command } from './command.js';
import { shellWord } from './config.js';
import type { Context } from './context.js';
import { demoDatabase } from './demo-database.js';
import { Narrator, oneLine, seconds } from './demo-narration.js';
import { exampleNames, loadExample, type Example } from './examples.js';

// By the package's folder, not this module's: the installed CLI is a bundle in dist/bin/, while
// the test agent runs as its own program from dist/src/.
const CLI = join(packageRoot, 'dist', 'bin', 'main.js');
const TEST_AGENT = join(packageRoot, 'dist', 'src', 'runtime', 'test-agent.js');
const DEFAULT_EXAMPLE = 'review-pipeline';
/** The demo's promise is "well under a minute"; a fleet still busy by then is stuck, not slow. */
const FLEET_DEADLINE_MS = 50_000;
const POLL_MS = 50;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run a whole fleet with the built-in test agent (no LLM): handoffs, a broadcast, routing, a template',
  usage: 'meshfleet demo [--db PATH] [--example NAME]\n\n'
    + 'Starts `meshfleet serve` with the test agent as every agent\'s program and, as an MCP host would,\n'
    + 'imports an example template (import_fleet_template), starts a fleet from it (spawn_from_template\n'
    + 'with spawn: true) and follows it to the end: each agent registers its skills, the first broadcasts\n'
    + 'the plan and hands the work along the pipeline, routes a follow-up task with route_work, and says\n'
    + 'when the fleet is done. Prints each step as it happens, then a summary and how to look inside.\n\n'
    + `  --example NAME  the template to run (default ${DEFAULT_EXAMPLE}; see examples/)\n`
    + '  --db PATH       write to PATH instead of a new file in a temp folder; refused when PATH\n'
    + '                  already holds fleets or templates (the demo never mixes into a used mesh)\n\n'
    + 'MESHFLEET_DB is not used: without --db the demo always starts from an empty database.',
  async run(args, ctx) {
    const { values } = parseArgs({ args, options: { db: { type: 'string' }, example: { type: 'string' } } });
    const example = loadExample(values.example ?? DEFAULT_EXAMPLE);
    const db = demoDatabase(ctx.config, values.db);
    return runDemo(ctx, example, db.path);
  },
};

async function runDemo(ctx: Context, example: Example, dbPath: string): Promise<number> {
  const out = ctx.stdout;
  // `meshfleet demo | head`: once the reader is gone, stop the fleet quietly instead of dying on EPIPE.
  let readerGone = false;
  const onOutputError = (): void => { readerGone = true; };
  out.on('error', onOutputError);
  const startedAt = Date.now();
  const say = new Narrator(out, startedAt);
  out.write(`meshfleet demo: the ${example.name} example (${example.template.agents.length} agents), played by the test agent (no LLM)\n`);
  out.write(`database: ${dbPath}\n\n`);

  const transport = new StdioClientTransport({
    command: process.execPath,
    // --no-hub: the demo's agents end with the demo, and no hub outlives it in a temp folder.
    args: [CLI, 'serve', '--db', dbPath, '--runtime', 'command', '--no-hub'],
    env: {
      ...ctx.config.plainChildEnv() as Record<string, string>,
      MESHFLEET_AGENT_COMMAND: `${shellWord(process.execPath)} ${shellWord(TEST_AGENT)} team`,
      MESHFLEET_RETRY_BASE_MS: '250',
      MESHFLEET_AGENT_TIMEOUT_MS: String(FLEET_DEADLINE_MS),
    },
    stderr: 'pipe',
  });
  let serverLog = '';
  transport.stderr?.on('data', (chunk: Buffer) => { serverLog = (serverLog + chunk.toString()).slice(-8_192); });
  const client = new Client({ name: 'meshfleet demo', version: ctx.version });
  let store: Store | undefined;
  try {
    await client.connect(transport).catch((err: Error) => { throw new ServerGone(`it did not start (${err.message})`); });
    say.say('host', `started \`meshfleet serve\` (pid ${transport.pid}); every agent runs the test agent in team mode`);
    const tool = toolCaller(client);

    const imported = (await tool('import_fleet_template', { template: example.template })).template;
    say.say('host', `import_fleet_template ${example.name} → saved as "${imported.name}" version ${imported.version}: ${seats(imported.agents)}`);
    store = openStore(dbPath);
    let cursor = activityCursor(store);
    // Host lines carry the time of the call, so they sort before what the call set off.
    const spawnedAt = Date.now();
    const spawned = await tool('spawn_from_template', { name: imported.name, version: imported.version, spawn: true });
    say.say('host', `spawn_from_template "${imported.name}" spawn: true → fleet ${spawned.fleet_id} (${spawned.agent_ids.length} agents starting)`, spawnedAt);
    const { agents } = await tool('fleet_status', { fleet_id: spawned.fleet_id });
    say.nameAgents(agents as { id: string; role: string }[]);

    // Follow the fleet until it settles: each new event and message, as the agents commit them.
    let settled = false;
    for (const deadline = Date.now() + FLEET_DEADLINE_MS; !settled && !readerGone && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const next = activitySince(store, spawned.fleet_id, cursor);
      cursor = next.cursor;
      for (const item of next.items) {
        say.tell(item);
        if (item.kind === 'event' && item.event === 'fleet_settled') settled = true;
      }
    }
    if (readerGone) return 1;
    const status = await tool('fleet_status', { fleet_id: spawned.fleet_id });
    if (!settled) say.say('host', `the fleet has not finished after ${FLEET_DEADLINE_MS / 1000} s; stopping it`);

    const results = await tool('collect_results', { fleet_id: spawned.fleet_id });
    out.write('\nWhat each agent reported (collect_results):\n');
    for (const r of results.results as { agent_id: string; status: string; output: string | null; error: string | null }[]) {
      out.write(`  ${say.label(r.agent_id).padEnd(14)} ${r.status.padEnd(9)} ${oneLine(r.output ?? r.error ?? '', 200)}\n`);
    }
    summarize(out, store, { dbPath, fleetId: spawned.fleet_id, status: status.fleet.status, agents: status.agents, template: imported, elapsedMs: Date.now() - startedAt });
    if (status.fleet.status === 'complete') return 0;
    throw new MeshError('invalid', `The demo fleet ended ${status.fleet.status}${settled ? '' : ' (still running at the deadline)'}; the lines above say which agent failed and why.`,
      `Run \`meshfleet doctor\`; if it finds nothing, please report this with the output above.${serverLog ? `\n  The server's log:\n${indent(serverLog)}` : ''}`);
  } catch (err) {
    if (err instanceof ServerGone) {
      throw new MeshError('invalid', `The demo's \`meshfleet serve\` stopped: ${err.message}.`, `Its log:\n${indent(serverLog || '(empty)')}`);
    }
    throw err;
  } finally {
    store?.close();
    await client.close().catch(() => undefined);
    out.off('error', onOutputError);
  }
}

class ServerGone extends Error {}

/** A tool call's JSON answer; a tool error (there should be none) stops the demo with its text. */
function toolCaller(client: Client) {
  return async (name: string, args: Record<string, unknown>): Promise<any> => {
    let result;
    try {
      result = await client.callTool({ name, arguments: args });
    } catch (err) {
      throw new ServerGone(`${name} got no answer (${(err as Error).message})`);
    }
    const json = JSON.parse((result.content as { text: string }[])[0]!.text);
    if (result.isError) throw new MeshError('invalid', `${name} failed: ${json.error}`, 'If that is nothing you can fix, please report it with the output above.');
    return json;
  };
}

const seats = (agents: { role: string }[]): string => agents.map((a) => a.role).join(', ');
const indent = (text: string): string => text.trimEnd().split('\n').map((line) => `    ${line}`).join('\n');

interface Finished {
  dbPath: string;
  fleetId: string;
  status: string;
  agents: { status: string }[];
  template: { name: string; version: number };
  elapsedMs: number;
}

function summarize(out: NodeJS.WritableStream, store: Store, run: Finished): void {
  const counts = fleetMessageCounts(store, run.fleetId);
  const complete = run.agents.filter((a) => a.status === 'complete').length;
  const types = Object.entries(counts.byType).map(([type, n]) => `${n} ${type}`).join(', ');
  const db = shellWord(run.dbPath);
  out.write([
    '',
    'Summary:',
    `  fleet       ${run.fleetId} ${run.status}: ${complete} of ${run.agents.length} agents complete, in ${seconds(run.elapsedMs)}`,
    `  messages    ${counts.messages} (${types}); ${counts.broadcasts} broadcast${counts.broadcasts === 1 ? '' : 's'}; ${counts.deliveries} deliveries`,
    `  template    "${run.template.name}" version ${run.template.version}, saved by import_fleet_template and started by spawn_from_template`,
    `  database    ${run.dbPath}`,
    '',
    'Look inside:',
    `  sqlite3 -header -column ${db} 'select * from fleet_summary'`,
    `  sqlite3 -header -column ${db} 'select seq, from_agent_id, to_agent_id, type, payload from messages order by seq'`,
    `  meshfleet inspect --db ${db} --fleet ${run.fleetId}`,
    '',
    `Other examples: ${exampleNames().map((n) => `meshfleet demo --example ${n}`).join(', ')}`,
    '',
  ].join('\n'));
}
