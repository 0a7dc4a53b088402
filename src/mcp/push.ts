import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ChangeFeed } from '../mesh/changes.js';
import { MeshError } from '../mesh/errors.js';
import { MAX_ID_CHARS, quote } from '../mesh/limits.js';
import { agentTokenMatches } from '../mesh/tokens.js';
import type { Store } from '../store/open.js';
import { closeHttp, HTTP_LIMITS, listenHttp, reply, type Refusal } from './http-listener.js';
import { InboxStream } from './inbox-stream.js';

/** Bounds of the stream server. Anyone who can reach the port can send anything; none of it may end the process. */
export const PUSH_LIMITS = {
  /** Open streams in one server process; one more is answered 503. */
  maxStreams: 256,
  /** Open streams of one agent; one more is answered 429. */
  maxStreamsPerAgent: 4,
  /** A stream whose client leaves our send buffer full this long is dropped: it is reading nothing. */
  stalledMs: 30_000,
  ...HTTP_LIMITS,
};
export type PushLimits = typeof PUSH_LIMITS;

export interface PushOptions {
  /** MESHFLEET_SSE_PORT; a free port when absent. */
  port?: number;
  /** MESHFLEET_AUTH_TOKEN: the operator's bearer token, which opens every stream. */
  token?: string;
  /** Tests shrink these. */
  limits?: Partial<PushLimits>;
}

export interface PushStats {
  streams: number;
  /** Streams waiting for their client to read. */
  blocked: number;
  /** Bytes held in this process for all streams' clients. */
  bufferedBytes: number;
}

/**
 * Server-sent event streams of agents' inboxes on 127.0.0.1, started on first use. A stream
 * pushes every message committed for its agent by any process on the database. Nothing here
 * keeps the process alive: the stdio session decides when the server ends.
 *
 * A stream opens with its URL key (HMAC of the agent id under a secret of this process, so a
 * URL is good for one agent on one server), the agent's own token, or the operator token.
 * Operator tokens are not taken from the query string (?token= of old): query strings end up in
 * logs and shell history, and the operator token opens every stream; a leaked key opens one.
 */
export class InboxPush {
  private server: Server | undefined;
  /** Resolves to the base URL streams are served at: this object's own server, or the hub's (serveOn). */
  private listening: Promise<string> | undefined;
  private readonly urlSecret = randomBytes(32);
  /** Whether a bearer token is an operator's (the hub's operator tokens): every stream opens to it. */
  private isOperatorToken: ((token: string) => boolean) | undefined;
  private readonly limits: PushLimits;
  private readonly streams = new Set<InboxStream>();
  private readonly streamsByAgent = new Map<string, number>();

  constructor(private readonly store: Store, private readonly changes: ChangeFeed, private readonly options: PushOptions = {}) {
    this.limits = { ...PUSH_LIMITS, ...options.limits };
  }

  /** The stream's URL, key included: it works with no token configured. */
  async streamUrl(agentId: string): Promise<string> {
    const base = await this.listen();
    return `${base}/inbox/${encodeURIComponent(agentId)}?key=${this.keyFor(agentId)}`;
  }

  instructions(): string {
    return [
      'GET stream_url as given, with Accept: text/event-stream: its key opens this agent\'s stream only, so do not share it.',
      'Instead of the key, Authorization: Bearer <your MESHFLEET_AGENT_TOKEN> works too.',
      'Each message is one frame: "id: <seq>", "event: message", "data: <JSON message, as get_inbox returns it>", then a blank line.',
      'The stream first sends the messages already waiting, then each new one as it is committed.',
      'Lines starting with ":" are keep-alives. On reconnect send Last-Event-ID (or &after=<seq>) to resume after the last frame seen.',
      `At most ${this.limits.maxStreamsPerAgent} streams per agent (429 beyond); a client that stops reading for ${this.limits.stalledMs / 1000} s is disconnected.`,
      'Streaming does not acknowledge: call ack_message for each message handled.',
    ].join(' ');
  }

  stats(): PushStats {
    let blocked = 0;
    let bufferedBytes = 0;
    for (const stream of this.streams) {
      if (stream.isBlocked()) blocked += 1;
      bufferedBytes += stream.bufferedBytes();
    }
    return { streams: this.streams.size, blocked, bufferedBytes };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.listening = undefined;
    for (const stream of this.streams) stream.end();
    if (server !== undefined) await closeHttp(server);
  }

  /**
   * Streams are served by another server (the hub's, at `baseUrl`), which passes requests for
   * /inbox/ to handle(); this object then listens on no port of its own.
   */
  serveOn(baseUrl: string, isOperatorToken?: (token: string) => boolean): void {
    this.listening = Promise.resolve(baseUrl);
    this.isOperatorToken = isOperatorToken;
  }

  /** Answers one request for /inbox/<agent_id>: opens the stream, or says why not. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const refusal = this.route(req, res);
    if (refusal !== undefined) reply(res, refusal);
  }

  private keyFor(agentId: string): string {
    return createHmac('sha256', this.urlSecret).update(agentId, 'utf8').digest('base64url');
  }

  private listen(): Promise<string> {
    this.listening ??= listenHttp({
      host: '127.0.0.1',
      port: this.options.port ?? 0,
      limits: this.limits,
      handle: (req, res) => this.handle(req, res),
      // Nothing here keeps the process alive: the stdio session decides when the server ends.
      keepsProcessAlive: false,
      portTaken: () => new MeshError('conflict', `Port ${this.options.port} (MESHFLEET_SSE_PORT) is taken, perhaps by another meshfleet serve.`, 'Unset MESHFLEET_SSE_PORT to let Meshfleet pick a free port, or choose another.'),
      what: 'inbox stream server',
    }).then(({ server, port }) => {
      this.server = server;
      return `http://127.0.0.1:${port}`;
    }, (err: unknown) => {
      this.listening = undefined;
      throw err;
    });
    return this.listening;
  }

  /** Opens the stream, or says why not. */
  private route(req: IncomingMessage, res: ServerResponse): Refusal | undefined {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      return { status: 400, error: `Cannot parse the request target ${quote(req.url)}.` };
    }
    const match = url.pathname.match(/^\/inbox\/([^/]+)$/);
    if (match === null) return { status: 404, error: `Nothing at ${quote(url.pathname)}: streams are at GET /inbox/<agent_id>.` };
    if (req.method !== 'GET') return { status: 405, error: `${quote(req.method)} is not allowed: streams are read with GET.`, headers: { allow: 'GET' } };
    if (hasBody(req)) return { status: 400, error: 'A stream request has no body.' };
    let agentId: string;
    try {
      agentId = decodeURIComponent(match[1]!);
    } catch {
      return { status: 400, error: `Bad percent-encoding in ${quote(url.pathname)}.` };
    }
    const denied = this.authorize(req, url, agentId);
    if (denied !== undefined) return denied;
    if (agentId.length > MAX_ID_CHARS || this.store.hot.agent(agentId) === undefined) return { status: 404, error: `No agent ${quote(agentId)}.` };
    if (this.streams.size >= this.limits.maxStreams) {
      return { status: 503, error: `This server has ${this.limits.maxStreams} streams open, its limit.`, headers: { 'retry-after': '10' } };
    }
    const open = this.streamsByAgent.get(agentId) ?? 0;
    if (open >= this.limits.maxStreamsPerAgent) {
      return { status: 429, error: `Agent ${quote(agentId)} has ${open} streams open, the limit; close one first.`, headers: { 'retry-after': '10' } };
    }

    this.streamsByAgent.set(agentId, open + 1);
    const stream = new InboxStream(this.store, this.changes, res, agentId, resumeAfter(req, url), this.limits.stalledMs);
    this.streams.add(stream);
    res.once('close', () => {
      stream.stop();
      this.streams.delete(stream);
      const left = (this.streamsByAgent.get(agentId) ?? 1) - 1;
      if (left > 0) this.streamsByAgent.set(agentId, left);
      else this.streamsByAgent.delete(agentId);
    });
    stream.start();
    return undefined;
  }

  private authorize(req: IncomingMessage, url: URL, agentId: string): Refusal | undefined {
    const bearer = (req.headers.authorization ?? '').match(/^Bearer +(\S+) *$/i)?.[1];
    const key = url.searchParams.get('key') ?? undefined;
    if (bearer === undefined && key === undefined) {
      return {
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="meshfleet"' },
        error: 'This stream needs the key its stream_url from subscribe_inbox carries, or Authorization: Bearer <the agent\'s MESHFLEET_AGENT_TOKEN or the operator\'s MESHFLEET_AUTH_TOKEN>.'
          + (url.searchParams.has('token') ? ' ?token= is not accepted: query strings end up in logs.' : ''),
      };
    }
    if (key !== undefined && sameSecret(key, this.keyFor(agentId))) return undefined;
    if (bearer !== undefined) {
      if (this.options.token && sameSecret(bearer, this.options.token)) return undefined;
      if (this.isOperatorToken?.(bearer) === true) return undefined;
      if (agentId.length <= MAX_ID_CHARS && agentTokenMatches(this.store, agentId, bearer)) return undefined;
    }
    return { status: 403, error: `The key or token given does not open the stream of agent ${quote(agentId)}.` };
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Last-Event-ID, else ?after=; anything else than a seq resends all that is pending. */
function resumeAfter(req: IncomingMessage, url: URL): number {
  const header = req.headers['last-event-id'];
  const seq = Number(typeof header === 'string' ? header : url.searchParams.get('after') ?? 0);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
