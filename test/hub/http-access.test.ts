// Who gets in at the hub's /mcp and /inbox/: a bearer token per request; anything else is 401
// with nothing revealed, and an agent's token reaches only that agent's inbox, stream and sessions.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryDb } from '../helpers/database.js';
import { runCliAsync } from '../helpers/files.js';
import { connectHttp, initializeBody, MCP_HEADERS, startTestHub, type HttpClient, type TestHub } from '../helpers/http-hub.js';
import { eventually } from '../helpers/mesh.js';
import { readFrames } from '../helpers/streams.js';

// The hub runs in this process: CLI runs are async, as spawnSync would stop its event loop.

let hub: TestHub;
let operator: HttpClient;
let fleetId: string;
let a: { agent_id: string; token: string };
let b: { agent_id: string; token: string };
beforeEach(async () => {
  hub = await startTestHub();
  operator = await hub.connect(hub.operatorToken);
  ({ fleet_id: fleetId } = await operator.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: 'sleep:30000' }] }));
  a = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'a', prompt: 'a', runtime: 'remote' });
  b = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'b', prompt: 'b', runtime: 'remote' });
});
afterEach(async () => {
  await hub.close();
});

const post = (headers: Record<string, string>, body = initializeBody()) =>
  fetch(hub.endpoint.mcpUrl, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body });

describe('a request without a good token', () => {
  it('gets 401 and the same few words, with no token, a wrong one, a malformed header, a revoked one, or an ended agent\'s', async () => {
    const revoked = await runCliAsync(['token', 'create', '--operator', '--name', 'old', '--db', hub.dbPath]);
    expect(revoked.code).toBe(0);
    const oldToken = revoked.stdout.trim();
    const oldId = /operator token (\d+) created/.exec(revoked.stderr)![1]!;
    expect((await post({ authorization: `Bearer ${oldToken}` })).status).toBe(200);
    expect((await runCliAsync(['token', 'revoke', oldId, '--db', hub.dbPath])).code).toBe(0);
    const ended = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'c', prompt: 'c', runtime: 'remote' });
    await operator.ok('finish_agent', { agent_id: ended.agent_id });

    const answers = [];
    for (const headers of [
      {} as Record<string, string>, { authorization: 'Bearer mfa_not-a-token' }, { authorization: `Basic ${hub.operatorToken}` }, { authorization: 'Bearer' },
      { authorization: `Bearer ${oldToken}` }, { authorization: `Bearer ${ended.token}` }, { authorization: `Bearer ${a.token}x` },
    ]) {
      const response = await post(headers);
      answers.push({ status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.text() });
    }
    expect(new Set(answers.map((x) => JSON.stringify(x))).size).toBe(1);
    expect(answers[0]).toEqual({ status: 401, challenge: 'Bearer realm="meshfleet"', body: expect.stringContaining('A valid bearer token is required') });
  });

  it('is refused on every later request of a session once its operator token is revoked', async () => {
    const created = await runCliAsync(['token', 'create', '--operator', '--db', hub.dbPath]);
    const client = await connectHttp(hub.endpoint.mcpUrl, created.stdout.trim());
    expect((await client.ok('ping')).status).toBe('ok');
    await runCliAsync(['token', 'revoke', /token (\d+) created/.exec(created.stderr)![1]!, '--db', hub.dbPath]);
    await expect(client.call('ping')).rejects.toThrow(/A valid bearer token is required/);
    await client.close().catch(() => undefined);
  });
});

describe('an agent\'s token', () => {
  it('cannot read another agent\'s inbox, acknowledge for it, or send as it', async () => {
    await operator.ok('send_message', { fleet_id: fleetId, from_agent_id: a.agent_id, to_agent_id: b.agent_id, type: 'handoff', payload: 'for b only' });
    const asA = await hub.connect(a.token);
    expect(await asA.fails('get_inbox', { agent_id: b.agent_id })).toMatch(/^This server acts as agent ".*"; it cannot read the inbox as/);
    expect(await asA.fails('wait_for_messages', { agent_id: b.agent_id, timeout_ms: 0 })).toMatch(/cannot read the inbox as/);
    expect(await asA.fails('subscribe_inbox', { agent_id: b.agent_id })).toMatch(/cannot read the inbox as/);
    expect(await asA.fails('send_message', { from_agent_id: b.agent_id, to_agent_id: a.agent_id, type: 'handoff', payload: 'x' })).toMatch(/cannot send as/);
    expect((await asA.ok('get_inbox')).messages).toEqual([]);
    expect(queryDb(hub.dbPath, 'SELECT read_at FROM deliveries WHERE agent_id = ?', b.agent_id)).toEqual([{ read_at: null }]);
  });

  it('cannot open another agent\'s stream, and its own stream is served on the hub\'s port', async () => {
    const asA = await hub.connect(a.token);
    const { stream_url: url } = await asA.ok('subscribe_inbox');
    expect(url.startsWith(`${hub.endpoint.url}/inbox/`)).toBe(true);
    const bStream = `${hub.endpoint.url}/inbox/${encodeURIComponent(b.agent_id)}`;
    const refused = await fetch(bStream, { headers: { accept: 'text/event-stream', authorization: `Bearer ${a.token}` } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain('for a');

    const controller = new AbortController();
    try {
      const own = await fetch(`${hub.endpoint.url}/inbox/${encodeURIComponent(a.agent_id)}`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${a.token}` }, signal: controller.signal });
      expect(own.status).toBe(200);
      await operator.ok('send_message', { fleet_id: fleetId, from_agent_id: b.agent_id, to_agent_id: a.agent_id, type: 'handoff', payload: 'for a' });
      expect((await readFrames(own, 'for a')).map((f) => f.payload)).toEqual(['for a']);
      // An operator token opens any stream.
      const asOperator = await fetch(bStream, { headers: { accept: 'text/event-stream', authorization: `Bearer ${hub.operatorToken}` }, signal: controller.signal });
      expect(asOperator.status).toBe(200);
    } finally {
      controller.abort();
    }
  });

  it('cannot use another agent\'s MCP session: it does not exist for it', async () => {
    const init = await post({ authorization: `Bearer ${b.token}` });
    const sessionId = init.headers.get('mcp-session-id')!;
    expect(sessionId).toBeTruthy();
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const asA = await post({ authorization: `Bearer ${a.token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }, list);
    expect(asA.status).toBe(404);
    const missing = await post({ authorization: `Bearer ${b.token}`, 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': '2025-06-18' }, list);
    expect(missing.status).toBe(404);
    expect(await asA.text()).toBe(await missing.text());
  });

  it('makes wait_for_messages over HTTP wake when another process sends', async () => {
    const asA = await hub.connect(a.token);
    const waiting = asA.ok('wait_for_messages', { timeout_ms: 30_000 });
    await eventually(async () => expect((await operator.ok('get_health')).waits_pending).toBe(1));
    const asB = await hub.connect(b.token);
    await asB.ok('send_message', { to_agent_id: a.agent_id, type: 'question', payload: 'ready?' });
    const answer = await waiting;
    expect(answer.timed_out).toBe(false);
    expect(answer.messages).toEqual([expect.objectContaining({ from_agent_id: b.agent_id, payload: 'ready?' })]);
  });
});

describe('meshfleet token', () => {
  it('creates an operator token shown once and stored hashed, lists it without the token, and revokes it', async () => {
    const created = await runCliAsync(['token', 'create', '--operator', '--name', 'ci runner', '--db', hub.dbPath]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^mfo_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/operator token 2 created for .*shown only this once; revoke it with `meshfleet token revoke 2`/);
    expect(JSON.stringify(queryDb(hub.dbPath, 'SELECT * FROM operator_tokens'))).not.toContain(token);

    const client = await connectHttp(hub.endpoint.mcpUrl, token);
    expect((await client.ok('list_fleets')).fleets).toHaveLength(1);
    await client.close();

    const listed = await runCliAsync(['token', 'list', '--json', '--db', hub.dbPath]);
    expect(listed.stdout).not.toContain(token);
    const ci = JSON.parse(listed.stdout).tokens.find((t: { id: number }) => t.id === 2);
    expect(ci).toMatchObject({ name: 'ci runner', revoked_at: null });
    expect(ci.last_used_at).not.toBeNull();

    expect((await runCliAsync(['token', 'revoke', '2', '--db', hub.dbPath])).stdout).toBe('Operator token 2 revoked; requests with it now get 401.\n');
    expect((await runCliAsync(['token', 'revoke', '2', '--db', hub.dbPath])).stdout).toBe('Operator token 2 was already revoked.\n');
    expect((await runCliAsync(['token', 'list', '--db', hub.dbPath])).stdout).toMatch(/^2 +ci runner .* revoked \d{4}-/m);
    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it('says what is wrong with bad use, and changes nothing', async () => {
    const cases = [
      [['token', 'create'], 2, /token create needs --operator/],
      [['token', 'revoke'], 2, /token revoke takes one token id/],
      [['token', 'revoke', 'abc'], 2, /token revoke takes one token id .*not 'abc'/],
      [['token', 'revoke', '99'], 1, /No operator token with id 99\.\n  Run `meshfleet token list`/],
      [['token', 'frobnicate'], 2, /token has no action 'frobnicate'/],
      [['token', 'create', '--operator', '--name', ''], 1, /--name must be 1 to 100 printable characters/],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => runCliAsync([...args, '--db', hub.dbPath])));
    cases.forEach(([args, code, words], i) => {
      expect(results[i]!.code, args.join(' ')).toBe(code);
      expect(results[i]!.stderr, args.join(' ')).toMatch(words);
      expect(results[i]!.stdout).toBe('');
    });
    expect(queryDb(hub.dbPath, 'SELECT count(*) AS n FROM operator_tokens')).toEqual([{ n: 1 }]);
  });
});
