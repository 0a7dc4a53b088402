// Eight `meshfleet serve` processes on one database, as eight agents' hosts run them, all
// writing at once: every send must land exactly once, none may fail for the lock.
import BetterSqlite3 from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { databasePerTest } from '../helpers/database.js';
import { CLI } from '../helpers/files.js';

const SERVERS = 8;
const SENDS_PER_SERVER = 1_000;

let dir: string;
let dbPath: string;
const clients: Client[] = [];
databasePerTest((paths) => ({ dir, db: dbPath } = paths));
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

interface Server {
  call(name: string, args: Record<string, unknown>): Promise<{ isError: boolean; json: any }>;
  stderr(): string;
}

async function serve(): Promise<Server> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', '--db', dbPath],
    // Agents exit at once: the fleet is only there to send between, so no hub is started for them.
    env: { PATH: process.env.PATH ?? '', HOME: dir, MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'true', MESHFLEET_NO_HUB: '1' },
    stderr: 'pipe',
  });
  // Read stderr as it comes, so a chatty server never blocks on a full pipe.
  let err = '';
  transport.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); });
  const client = new Client({ name: 'concurrency-host', version: '0.0.0' });
  await client.connect(transport);
  clients.push(client);
  return {
    stderr: () => err,
    call: async (name, args) => {
      const result = await client.callTool({ name, arguments: args });
      return { isError: result.isError === true, json: JSON.parse((result.content as { text: string }[])[0]!.text) };
    },
  };
}

describe('eight meshfleet serve processes on one database', () => {
  it('each sends 1,000 messages at once with the others: all 8,000 succeed and are stored exactly once, in each sender\'s order', async () => {
    const servers = await Promise.all(Array.from({ length: SERVERS }, () => serve()));
    const spawned = await servers[0]!.call('spawn_fleet', { agents: Array.from({ length: SERVERS }, (_, i) => ({ role: `agent-${i}`, prompt: 'p' })) });
    expect(spawned.isError).toBe(false);
    const { fleet_id: fleetId, agent_ids: agentIds } = spawned.json as { fleet_id: string; agent_ids: string[] };

    // Server i sends as agent i to the i + 1 agents after it in turn (at most the 7 others), so
    // every inbox ends with a different count.
    const recipientOf = (i: number, j: number) => agentIds[(i + 1 + (j % Math.min(i + 1, SERVERS - 1))) % SERVERS]!;
    const failures: string[] = [];
    const sentIds = await Promise.all(servers.map(async (server, i) => {
      const ids: string[] = [];
      for (let j = 0; j < SENDS_PER_SERVER; j++) {
        try {
          const sent = await server.call('send_message', {
            fleet_id: fleetId, from_agent_id: agentIds[i], to_agent_id: recipientOf(i, j), type: 'handoff', payload: `server ${i} message ${j}`,
          });
          if (sent.isError) failures.push(`server ${i}, message ${j}: ${JSON.stringify(sent.json)}`);
          else ids.push(sent.json.message_id);
        } catch (err) {
          failures.push(`server ${i}, message ${j}: ${String(err)}; its stderr: ${server.stderr()}`);
          break; // its connection is gone
        }
      }
      return ids;
    }));
    expect(failures.length, failures.slice(0, 10).join('\n')).toBe(0);

    const db = new BetterSqlite3(dbPath, { readonly: true });
    try {
      const total = SERVERS * SENDS_PER_SERVER;
      expect(db.prepare('SELECT count(*) FROM messages').pluck().get()).toBe(total);
      expect(db.prepare('SELECT count(*) FROM deliveries').pluck().get()).toBe(total);
      expect(db.prepare('SELECT count(DISTINCT id) FROM messages').pluck().get()).toBe(total);
      expect(new Set(sentIds.flat()).size).toBe(total);

      const expectedInbox: Record<string, number> = {};
      for (let i = 0; i < SERVERS; i++) {
        for (let j = 0; j < SENDS_PER_SERVER; j++) expectedInbox[recipientOf(i, j)] = (expectedInbox[recipientOf(i, j)] ?? 0) + 1;
      }
      const inbox = db.prepare('SELECT agent_id, count(*) AS n FROM inbox GROUP BY agent_id').all() as { agent_id: string; n: number }[];
      expect(Object.fromEntries(inbox.map((row) => [row.agent_id, row.n]))).toEqual(expectedInbox);

      // Each server's messages are stored under the ids it was given, with the content it sent,
      // in the order it sent them.
      const stored = db.prepare('SELECT id, from_agent_id, to_agent_id, payload FROM messages ORDER BY seq').all() as
        { id: string; from_agent_id: string; to_agent_id: string; payload: string }[];
      servers.forEach((_, i) => {
        const own = stored.filter((m) => m.from_agent_id === agentIds[i]);
        expect(own.map((m) => m.id)).toEqual(sentIds[i]);
        expect(own.every((m, j) => m.payload === `server ${i} message ${j}` && m.to_agent_id === recipientOf(i, j))).toBe(true);
      });

      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('foreign_key_check')).toEqual([]);
    } finally {
      db.close();
    }
  }, 600_000);
});
