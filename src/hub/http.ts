// The hub's HTTP endpoint: MCP Streamable HTTP at /mcp for agents and operators anywhere, each
// with a bearer token, and the inbox streams of subscribe_inbox at /inbox/<agent_id>.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { ChangeFeed } from '../mesh/changes.js';
import { MeshError } from '../mesh/errors.js';
import { identifyBearer } from '../mcp/access.js';
import type { ToolDeps } from '../mcp/deps.js';
import { closeHttp, HTTP_LIMITS, listenHttp, reply, type HttpLimits } from '../mcp/http-listener.js';
import { InboxPush } from '../mcp/push.js';
import { RemoteWatch, type RemoteWatchOptions } from '../runtime/remote-watch.js';
import { settingsFrom } from '../runtime/supervisor-settings.js';
import type { StartEndpoint } from './endpoint.js';
import { Heartbeats } from './heartbeats.js';
import { McpSessions, SESSION_LIMITS, type SessionLimits } from './mcp-sessions.js';

export const HUB_HTTP_LIMITS: HttpLimits & SessionLimits = {
  ...HTTP_LIMITS,
  ...SESSION_LIMITS,
  // A whole request: up to 48 MiB of send_messages from another machine on a slow link.
  requestTimeoutMs: 120_000,
};

export const DEFAULT_REMOTE_SILENCE_MS = 600_000;

export interface HttpEndpointOptions {
  /** Where to listen: 127.0.0.1 unless the user binds elsewhere with an explicit flag. */
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** The URL clients reach the hub at, when it differs (TLS from a reverse proxy): https://mesh.example.com */
  publicUrl?: string;
  /** How often one caller's heartbeat is written, at most. */
  heartbeatEveryMs?: number;
  remote?: Partial<RemoteWatchOptions>;
  limits?: Partial<typeof HUB_HTTP_LIMITS>;
}

export interface HttpEndpoint {
  /** The base URL, e.g. http://127.0.0.1:7300 */
  readonly url: string;
  /** Where MCP clients connect: url + /mcp */
  readonly mcpUrl: string;
  readonly port: number;
  /** host:port it listens on (what the hub's lease row records; servers on this machine reach it there). */
  readonly address: string;
  /** MCP sessions open now. */
  sessions(): number;
  /** Sessions and inbox streams open now: a hub with any is not idle. */
  connections(): number;
  close(): Promise<void>;
}

const UNAUTHORIZED = 'A valid bearer token is required: Authorization: Bearer <an agent\'s token, or an operator token from `meshfleet token create --operator`>.';

/**
 * Starts the endpoint on the hub's tool dependencies (the hub's store, supervisor and push).
 * Requests with an agent's token act as that agent's own server would; with an operator token,
 * as the operator. Its inbox streams move here from a port of their own.
 */
export async function startHttpEndpoint(deps: ToolDeps, options: HttpEndpointOptions = {}): Promise<HttpEndpoint> {
  const limits = { ...HUB_HTTP_LIMITS, ...options.limits };
  const host = options.host ?? '127.0.0.1';
  const { store } = deps;
  let urls: { url: string; mcpUrl: string } | undefined;
  const sessions = new McpSessions({ ...deps, hubUrl: () => urls?.mcpUrl }, limits);
  const heartbeats = new Heartbeats(store, options.heartbeatEveryMs ?? 1_000);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req.url);
    if (path.startsWith('/inbox/')) {
      deps.push.handle(req, res);
      return;
    }
    if (path !== '/mcp') {
      reply(res, { status: 404, error: `Nothing at ${JSON.stringify(path.slice(0, 200))}: MCP is at /mcp, inbox streams at /inbox/<agent_id>.` });
      return;
    }
    const bearer = bearerOf(req);
    const who = bearer === undefined ? undefined : identifyBearer(store, bearer);
    if (who === undefined) {
      reply(res, { status: 401, error: UNAUTHORIZED, headers: { 'www-authenticate': 'Bearer realm="meshfleet"' } });
      return;
    }
    heartbeats.seen(who);
    await sessions.handle(req, res, who);
  };

  let server: Server;
  let port: number;
  try {
    const listening = await listenHttp({
      host, port: options.port ?? 0, limits, handle, keepsProcessAlive: true, what: 'the hub\'s HTTP endpoint',
      portTaken: () => new MeshError('conflict', `Port ${options.port} on ${host} is taken by another program.`, 'Choose another port with --listen, or leave the port out for a free one.'),
    });
    server = listening.server;
    port = listening.port;
    const url = (options.publicUrl ?? `http://${urlHost(host)}:${port}`).replace(/\/+$/, '');
    urls = { url, mcpUrl: `${url}/mcp` };
  } catch (err) {
    await sessions.closeAll();
    throw err;
  }
  deps.push.serveOn(urls.url, (token) => identifyBearer(store, token)?.caller.kind === 'operator');
  const watch = new RemoteWatch(store, {
    // The agent timeout local agents get (MESHFLEET_AGENT_TIMEOUT_MS), unless the hub passes its own.
    silenceMs: DEFAULT_REMOTE_SILENCE_MS, agentTimeoutMs: settingsFrom({}).agentTimeoutMs, tickMs: 1_000, ...options.remote,
  });
  watch.begin();
  return {
    url: urls.url,
    mcpUrl: urls.mcpUrl,
    port,
    address: `${urlHost(host)}:${port}`,
    sessions: () => sessions.size,
    connections: () => sessions.size + deps.push.stats().streams,
    close: async () => {
      watch.stop();
      await sessions.closeAll();
      await deps.push.close();
      await closeHttp(server);
    },
  };
}

/** What the hub process knows that its endpoint's tools need. */
export interface HubEndpointSettings {
  version: string;
  projectDir: string;
  homeDir: string;
  publicUrl: string | undefined;
  agentTimeoutMs: number | undefined;
}

/**
 * The hub's StartEndpoint (src/hub/endpoint.ts): tools over HTTP record new agents for the hub,
 * which claims them as it claims every server's; inbox streams are served on the same port.
 */
export function hubEndpoint(settings: HubEndpointSettings): StartEndpoint {
  return async ({ store, listen, claimSoon }) => {
    const changes = new ChangeFeed(store);
    const push = new InboxPush(store, changes, {});
    const deps: ToolDeps = {
      store, changes, push, startedAt: Date.now(), version: settings.version, projectDir: settings.projectDir, homeDir: settings.homeDir,
      caller: { kind: 'operator' }, waits: { pending: 0 },
      // Recorded pending on the hub's own connection, whose commits its change feed does not see:
      // the hub is asked to claim them at once rather than at its next tick.
      agents: { owner: null, start: () => claimSoon(), runningHere: 0 },
    };
    let endpoint: HttpEndpoint;
    try {
      endpoint = await startHttpEndpoint(deps, {
        host: listen.host, port: listen.port, publicUrl: settings.publicUrl,
        remote: settings.agentTimeoutMs === undefined ? {} : { agentTimeoutMs: settings.agentTimeoutMs },
      });
    } catch (err) {
      changes.stop();
      throw err;
    }
    return {
      address: endpoint.address,
      connections: () => endpoint.connections(),
      close: async () => {
        await endpoint.close();
        changes.stop();
      },
    };
  };
}

function pathOf(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://hub').pathname;
  } catch {
    return '';
  }
}

function bearerOf(req: IncomingMessage): string | undefined {
  return (req.headers.authorization ?? '').match(/^Bearer +(\S+) *$/i)?.[1];
}

/** A host as it goes in a URL: a wildcard address becomes this machine's name, an IPv6 address gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return hostname();
  return host.includes(':') ? `[${host}]` : host;
}
