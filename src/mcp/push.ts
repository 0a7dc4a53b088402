import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { log } from '../log.js';
import type { ChangeFeed } from '../mesh/changes.js';
import { MeshError } from '../mesh/errors.js';
import { MAX_ID_CHARS, quote } from '../mesh/limits.js';
import { agentTokenMatches } from '../mesh/tokens.js';
import type { Store } from '../store/open.js';
import { InboxStream } from './inbox-stream.js';


/** Bounds of the stream server. Anyone who can reach the port can send anything; none of it may end the process. */
export const PUSH_LIMITS = {
  /** Open streams in one server process; one more is answered 503. */
  maxStreams: 256,
  /** Open streams of one agent; one more is answered 429. */
  maxStreamsPerAgent: 4,
  /** A stream whose client leaves our send buffer full this long is dropped: it is reading nothing. */
  stalledMs: 30_000,
  /** Request line and headers together; more is answered 431. Node's default, room for a browser's localhost cookies. */
  maxHeaderBytes: 16_384,
  /** Until the headers are in, and until the whole request is; then 408. A stream's response may last forever. */
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  /** Idle time between requests on a kept-alive connection. */
  keepAliveTimeoutMs: 5_000,
  /** TCP connections at once; the kernel hands us more, we close them unanswered. */
  maxConnections: 1_024,
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

interface Refusal { status: number; error: string; headers?: OutgoingHttpHeaders }

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
  private listening: Promise<number> | undefined;
  private readonly urlSecret = randomBytes(32);
  private readonly limits: PushLimits;
  private readonly streams = new Set<InboxStream>();
  private readonly streamsByAgent = new Map<string, number>();
  /** Sockets carrying a stream: a client error there must not get an HTTP reply written into the stream. */
  private readonly streamSockets = new WeakSet<Socket>();

  constructor(private readonly store: Store, private readonly changes: ChangeFeed, private readonly options: PushOptions = {}) {
    this.limits = { ...PUSH_LIMITS, ...options.limits };
  }

  /** The stream's URL, key included: it works with no token configured. */
  async streamUrl(agentId: string): Promise<string> {
    const port = await this.listen();
    return `http://127.0.0.1:${port}/inbox/${encodeURIComponent(agentId)}?key=${this.keyFor(agentId)}`;
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
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private keyFor(agentId: string): string {
    return createHmac('sha256', this.urlSecret).update(agentId, 'utf8').digest('base64url');
  }

  private listen(): Promise<number> {
    this.listening ??= new Promise<number>((resolve, reject) => {
      const limits = this.limits;
      const server = createServer({
        maxHeaderSize: limits.maxHeaderBytes,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // Node checks the two timeouts above every 30 s by default; a connection that never speaks would live that long.
        connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      }, (req, res) => this.handle(req, res));
      server.maxConnections = limits.maxConnections;
      server.on('connection', (socket) => socket.unref());
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
      const failedToListen = (err: NodeJS.ErrnoException) => {
        this.listening = undefined;
        reject(err.code === 'EADDRINUSE'
          ? new MeshError('conflict', `Port ${this.options.port} (MESHFLEET_SSE_PORT) is taken, perhaps by another meshfleet serve.`, 'Unset MESHFLEET_SSE_PORT to let Meshfleet pick a free port, or choose another.')
          : err);
      };
      server.once('error', failedToListen);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        server.unref();
        // Once listening, an error (EMFILE on accept under a flood) is the server's, not ours to die of.
        server.off('error', failedToListen);
        server.on('error', (err) => log.warn('inbox stream server', err));
        this.server = server;
        resolve((server.address() as AddressInfo).port);
      });
    });
    return this.listening;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => res.destroy());
    try {
      const refusal = this.route(req, res);
      if (refusal !== undefined) reply(res, refusal);
    } catch (err) {
      log.error('inbox stream request failed', err);
      if (res.headersSent) res.destroy();
      else reply(res, { status: 500, error: 'Meshfleet hit an internal error (details in its log). Retry once; if it repeats, report it with that log.' });
    }
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
    const socket = req.socket;
    this.streamSockets.add(socket);
    const stream = new InboxStream(this.store, this.changes, res, agentId, resumeAfter(req, url), this.limits.stalledMs);
    this.streams.add(stream);
    res.once('close', () => {
      stream.stop();
      this.streams.delete(stream);
      this.streamSockets.delete(socket);
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
      if (agentId.length <= MAX_ID_CHARS && agentTokenMatches(this.store, agentId, bearer)) return undefined;
    }
    return { status: 403, error: `The key or token given does not open the stream of agent ${quote(agentId)}.` };
  }

  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (!socket.writable || this.streamSockets.has(socket) || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, reason, error] = err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', `Request headers are limited to ${this.limits.maxHeaderBytes} bytes.`]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', `Send the whole request within ${this.limits.headersTimeoutMs} ms.`]
        : [400, 'Bad Request', 'Malformed HTTP request.'];
    const body = JSON.stringify({ error });
    // Like Node's own handler: one write, then close, whatever the client does next.
    socket.write(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    socket.destroy();
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

function reply(res: ServerResponse, { status, error, headers }: Refusal): void {
  // Refusals close the connection: a client that earns one gets no kept-alive socket to try again on.
  res.writeHead(status, { ...headers, 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ error }));
}
