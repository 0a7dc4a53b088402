// MCP sessions of the hub's /mcp: one McpServer per session, built like a stdio server's for the
// caller the session's bearer token stands for, so it offers the same tools with the same
// results and errors. The protocol itself is the SDK's StreamableHTTPServerTransport.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../log.js';
import { MAX_LINE_BYTES } from '../mesh/limits.js';
import type { BearerCaller } from '../mcp/access.js';
import type { ToolDeps } from '../mcp/deps.js';
import { reply, type Refusal } from '../mcp/http-listener.js';
import { checkIncoming } from '../mcp/incoming.js';
import { createMcpServer } from '../mcp/server.js';
import { Scheduler } from '../runtime/scheduler.js';

export const SESSION_LIMITS = {
  /** Sessions open at once; beyond it the least recently used idle one is closed (503 if none is idle). */
  maxSessions: 512,
  /** Sessions of one token at once; beyond it that token's least recently used idle one is closed (429 if none). */
  maxSessionsPerToken: 16,
  /** A session with no request for this long is closed; its client initializes again (404 tells it to). */
  idleMs: 3_600_000,
  /** One request's body; the stdio line limit, so whatever a stdio client may send, an HTTP one may too. */
  maxBodyBytes: MAX_LINE_BYTES,
};
export type SessionLimits = typeof SESSION_LIMITS;

interface Session {
  id: string;
  /** Whose it is: only requests with a token of the same owner reach it. */
  owner: string;
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  lastUsedAt: number;
  /** Requests being answered now; a busy session is never closed as idle. */
  active: number;
}

const ownerOf = ({ caller, operatorTokenId }: BearerCaller): string =>
  (caller.kind === 'operator' ? `operator:${operatorTokenId ?? 'local'}` : `agent:${caller.agentId}`);

export class McpSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly scheduler = new Scheduler();

  constructor(private readonly base: ToolDeps, private readonly limits: SessionLimits) {
    this.scheduler.every('closing idle MCP sessions', Math.min(60_000, limits.idleMs), () => this.closeIdle(Date.now()));
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse, who: BearerCaller): Promise<void> {
    const owner = ownerOf(who);
    const sessionId = req.headers['mcp-session-id'];
    if (sessionId !== undefined) {
      const session = typeof sessionId === 'string' ? this.sessions.get(sessionId) : undefined;
      // Another owner's session is answered as one that does not exist: nothing about it is revealed.
      if (session === undefined || session.owner !== owner) {
        reply(res, { status: 404, error: 'No such MCP session (it ended, or the hub restarted). Initialize a new one: POST an initialize request without Mcp-Session-Id.' });
        return;
      }
      await this.serve(session, req, res);
      return;
    }
    if (req.method !== 'POST') {
      reply(res, { status: 400, error: 'Mcp-Session-Id is required: initialize a session first (POST an initialize request to /mcp).' });
      return;
    }
    const refusal = this.makeRoom(owner);
    if (refusal !== undefined) {
      reply(res, refusal);
      return;
    }
    await this.open(owner, who, req, res);
  }

  /** A new session: the SDK's transport answers the initialize request, or refuses what is not one. */
  private async open(owner: string, who: BearerCaller, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const server = createMcpServer({ ...this.base, caller: who.caller });
    let session: Session | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: this.limits.maxBodyBytes,
      onsessioninitialized: (id) => {
        session = { id, owner, server, transport, lastUsedAt: Date.now(), active: 0 };
        this.sessions.set(id, session);
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    await server.connect(transport);
    checkMessages(transport);
    await transport.handleRequest(req, res);
    // Not an initialize request: no session was made, and nothing of it is kept.
    if (session === undefined) await server.close().catch(() => undefined);
  }

  private async serve(session: Session, req: IncomingMessage, res: ServerResponse): Promise<void> {
    session.active += 1;
    session.lastUsedAt = Date.now();
    res.once('close', () => {
      session.active -= 1;
      session.lastUsedAt = Date.now();
    });
    await session.transport.handleRequest(req, res);
  }

  /** Room for one more session of `owner`, by closing idle ones; else the refusal. */
  private makeRoom(owner: string): Refusal | undefined {
    const mine = [...this.sessions.values()].filter((s) => s.owner === owner);
    if (mine.length >= this.limits.maxSessionsPerToken && !this.closeLeastRecent(mine)) {
      return {
        status: 429, headers: { 'retry-after': '10' },
        error: `This token has ${mine.length} MCP sessions, each answering a request now; the limit is ${this.limits.maxSessionsPerToken}. Reuse one, or close one (DELETE /mcp with its Mcp-Session-Id).`,
      };
    }
    if (this.sessions.size >= this.limits.maxSessions && !this.closeLeastRecent([...this.sessions.values()])) {
      return { status: 503, headers: { 'retry-after': '10' }, error: `The hub has ${this.sessions.size} MCP sessions, all answering requests now; its limit is ${this.limits.maxSessions}.` };
    }
    return undefined;
  }

  private closeLeastRecent(candidates: Session[]): boolean {
    const idle = candidates.filter((s) => s.active === 0).sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
    if (idle === undefined) return false;
    this.close(idle, 'the session limit was reached and it was the least recently used');
    return true;
  }

  private closeIdle(now: number): void {
    for (const session of [...this.sessions.values()]) {
      if (session.active === 0 && now - session.lastUsedAt >= this.limits.idleMs) this.close(session, `no request for ${this.limits.idleMs} ms`);
    }
  }

  private close(session: Session, why: string): void {
    this.sessions.delete(session.id);
    log.info(`closed MCP session ${session.id} of ${session.owner}: ${why}`);
    session.server.close().catch((err: unknown) => log.warn(`closing MCP session ${session.id}`, err));
  }

  async closeAll(): Promise<void> {
    this.scheduler.stop();
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.server.close().catch(() => undefined)));
  }
}

/**
 * Every message passes the same check as on stdio (src/mcp/incoming.ts) before the SDK's server
 * sees it, so a bad request gets the same JSON-RPC error over HTTP as over stdio.
 */
function checkMessages(transport: StreamableHTTPServerTransport): void {
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const checked = checkIncoming(message);
    if (checked.ok) {
      deliver?.(checked.message, extra);
      return;
    }
    if (!checked.answer || checked.id === null) return;
    const answer = { jsonrpc: '2.0', id: checked.id, error: { code: checked.code, message: checked.message } } as unknown as JSONRPCMessage;
    transport.send(answer, { relatedRequestId: checked.id }).catch((err: unknown) => log.warn('answering a bad MCP request', err));
  };
}
