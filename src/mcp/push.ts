import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChangeFeed } from '../mesh/changes.js';
import { MeshError } from '../mesh/errors.js';
import { pendingAfter } from '../mesh/messages.js';
import type { Store } from '../store/open.js';
import { messageJson } from './wire.js';

export const KEEP_ALIVE_MS = 15_000;
const BATCH = 500;

export interface PushOptions {
  /** MESHFLEET_SSE_PORT; a free port when absent. */
  port?: number;
  /** MESHFLEET_AUTH_TOKEN: when set, streams need it as a bearer token (or ?token=). */
  token?: string;
}

/**
 * Server-sent event streams of agents' inboxes on 127.0.0.1, started on first use. A stream
 * pushes every message committed for its agent by any process on the database. Nothing here
 * keeps the process alive: the stdio session decides when the server ends.
 */
export class InboxPush {
  private server: Server | undefined;
  private listening: Promise<number> | undefined;

  constructor(private readonly store: Store, private readonly changes: ChangeFeed, private readonly options: PushOptions = {}) {}

  async streamUrl(agentId: string): Promise<string> {
    const port = await this.listen();
    return `http://127.0.0.1:${port}/inbox/${encodeURIComponent(agentId)}`;
  }

  instructions(): string {
    return [
      'GET stream_url with Accept: text/event-stream' + (this.options.token ? ' and Authorization: Bearer <MESHFLEET_AUTH_TOKEN> (or ?token=<it>)' : '') + '.',
      'Each message is one frame: "id: <seq>", "event: message", "data: <JSON message, as get_inbox returns it>", then a blank line.',
      'The stream first sends the messages already waiting, then each new one as it is committed.',
      'Lines starting with ":" are keep-alives. On reconnect send Last-Event-ID (or ?after=<seq>) to resume after the last frame seen.',
      'Streaming does not acknowledge: call ack_message for each message handled.',
    ].join(' ');
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.listening = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private listen(): Promise<number> {
    this.listening ??= new Promise<number>((resolve, reject) => {
      const server = createServer((req, res) => this.handle(req, res));
      server.on('connection', (socket) => socket.unref());
      server.once('error', (err: NodeJS.ErrnoException) => {
        this.listening = undefined;
        reject(err.code === 'EADDRINUSE'
          ? new MeshError('conflict', `Port ${this.options.port} (MESHFLEET_SSE_PORT) is taken, perhaps by another meshfleet serve.`, 'Unset MESHFLEET_SSE_PORT to let Meshfleet pick a free port, or choose another.')
          : err);
      });
      server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        server.unref();
        this.server = server;
        resolve((server.address() as AddressInfo).port);
      });
    });
    return this.listening;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/inbox\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || match === null) return reply(res, 404, 'Not found: streams are at GET /inbox/<agent_id>.');
    const token = this.options.token;
    if (token && req.headers.authorization !== `Bearer ${token}` && url.searchParams.get('token') !== token) {
      return reply(res, 401, 'This stream needs MESHFLEET_AUTH_TOKEN as a bearer token.');
    }
    const agentId = decodeURIComponent(match[1]!);
    if (this.store.hot.agent(agentId) === undefined) return reply(res, 404, `No agent "${agentId}".`);

    let lastSeq = Number(req.headers['last-event-id'] ?? url.searchParams.get('after') ?? 0) || 0;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    const flush = () => {
      for (let batch = pendingAfter(this.store, agentId, lastSeq, BATCH); batch.length > 0; batch = pendingAfter(this.store, agentId, lastSeq, BATCH)) {
        for (const m of batch) {
          res.write(`id: ${m.seq}\nevent: message\ndata: ${JSON.stringify(messageJson(m))}\n\n`);
          lastSeq = m.seq;
        }
      }
    };
    flush();
    const unsubscribe = this.changes.subscribe(flush);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    keepAlive.unref();
    req.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  }
}

function reply(res: ServerResponse, status: number, error: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error }));
}
