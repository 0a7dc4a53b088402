// The hub's endpoint is reachable by anything on the machine (or the network, when bound there):
// nothing sent to it may end the process or reach a tool without a token.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initializeBody, MCP_HEADERS, startTestHub, type HttpClient, type TestHub } from '../helpers/http-hub.js';
import { raw } from '../helpers/streams.js';

let hub: TestHub;
let operator: HttpClient;
beforeEach(async () => {
  hub = await startTestHub();
  operator = await hub.connect(hub.operatorToken);
});
afterEach(async () => {
  await hub.close();
});

const auth = () => ({ ...MCP_HEADERS, authorization: `Bearer ${hub.operatorToken}` });

describe('the hub\'s endpoint under hostile HTTP', () => {
  it('answers malformed HTTP, bad paths, huge headers and bad bodies, and goes on serving', async () => {
    const { port } = hub.endpoint;
    expect(await raw(port, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(port, 'GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 404 /);
    expect(await raw(port, `POST /mcp HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`)).toMatch(/^(HTTP\/1\.1 431 [\s\S]*)?$/);
    // Without a token nothing is parsed, not even the body.
    expect(await raw(port, 'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{{{{{')).toMatch(/^HTTP\/1\.1 401 /);

    const bodies = ['{{{{', '[]', '"text"', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), 'x'.repeat(1_000_000)];
    for (const body of bodies) {
      const response = await fetch(hub.endpoint.mcpUrl, { method: 'POST', headers: auth(), body });
      expect(response.status, body.slice(0, 40)).toBeGreaterThanOrEqual(400);
      expect(response.status, body.slice(0, 40)).toBeLessThan(500);
    }
    expect((await fetch(hub.endpoint.mcpUrl, { method: 'GET', headers: auth() })).status).toBe(400);
    expect((await fetch(hub.endpoint.mcpUrl, { method: 'PUT', headers: auth(), body: initializeBody() })).status).toBeLessThan(500);
    expect((await operator.ok('ping')).status).toBe('ok');
  });

  it('answers a request the SDK would take but stdio refuses with the same JSON-RPC error as stdio', async () => {
    const init = await fetch(hub.endpoint.mcpUrl, { method: 'POST', headers: auth(), body: initializeBody() });
    const session = { ...auth(), 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    await fetch(hub.endpoint.mcpUrl, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    const bad = await fetch(hub.endpoint.mcpUrl, {
      method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'ping', arguments: 'not an object' } }),
    });
    const text = await bad.text();
    expect(text).toContain('"id":7');
    expect(text).toMatch(/"code":-32602/);
    expect((await operator.ok('ping')).status).toBe('ok');
  });

  it('closes the least recently used idle session when one token opens too many', async () => {
    await hub.close();
    hub = await startTestHub({ limits: { maxSessionsPerToken: 2 } });
    const open = async () => (await fetch(hub.endpoint.mcpUrl, { method: 'POST', headers: auth(), body: initializeBody() })).headers.get('mcp-session-id')!;
    const first = await open();
    await open();
    await open();
    expect(hub.endpoint.sessions()).toBe(2);
    // What the hub's idle check and lease read: open sessions, and where clients reach it.
    expect(hub.endpoint.connections()).toBe(2);
    expect(hub.endpoint.address).toBe(`127.0.0.1:${hub.endpoint.port}`);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const gone = await fetch(hub.endpoint.mcpUrl, { method: 'POST', headers: { ...auth(), 'mcp-session-id': first, 'mcp-protocol-version': '2025-06-18' }, body: list });
    expect(gone.status).toBe(404);
  });
});
