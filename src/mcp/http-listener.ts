// An HTTP server hardened for anyone who can reach its port: bounded headers, request times and
// connections; a request handler that throws answers 500 instead of ending the process; malformed
// HTTP answered once and closed. The inbox streams of a stdio server and the hub's endpoint
// (MCP at /mcp, streams at /inbox/) both listen through it.
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { log } from '../log.js';

export const HTTP_LIMITS = {
  /** Request line and headers together; more is answered 431. Node's default, room for a browser's localhost cookies. */
  maxHeaderBytes: 16_384,
  /** Until the headers are in, and until the whole request is; then 408. A response (a stream) may last forever. */
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  /** Idle time between requests on a kept-alive connection. */
  keepAliveTimeoutMs: 5_000,
  /** TCP connections at once; the kernel hands us more, we close them unanswered. */
  maxConnections: 1_024,
};
export type HttpLimits = typeof HTTP_LIMITS;

export interface Refusal { status: number; error: string; headers?: OutgoingHttpHeaders }

export interface ListenOptions {
  host: string;
  /** 0: a free port. */
  port: number;
  limits: HttpLimits;
  /** Handles one request; a throw is logged and answered 500 (or the connection cut, mid-response). */
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
  /** Whether the server and its connections may keep the process alive. */
  keepsProcessAlive: boolean;
  /** The error to reject with when the port is taken. */
  portTaken(): Error;
  /** Names the server in logs. */
  what: string;
}

/** Starts listening; resolves with the server and its port once it does. */
export function listenHttp(options: ListenOptions): Promise<{ server: Server; port: number }> {
  const { limits } = options;
  // The response each socket is answering: once it has begun (a stream), a client error there
  // must not get an HTTP reply written into it.
  const answering = new WeakMap<Socket, ServerResponse>();
  const server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts above every 30 s by default; a connection that never speaks would live that long.
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  }, (req, res) => {
    const socket = req.socket;
    answering.set(socket, res);
    res.once('close', () => {
      if (answering.get(socket) === res) answering.delete(socket);
    });
    guardedRequest(options.what, req, res, options.handle);
  });
  server.maxConnections = limits.maxConnections;
  if (!options.keepsProcessAlive) server.on('connection', (socket) => socket.unref());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => clientError(err, socket, answering.get(socket)?.headersSent === true, limits));
  return new Promise((resolve, reject) => {
    const failedToListen = (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? options.portTaken() : err);
    server.once('error', failedToListen);
    server.listen(options.port, options.host, () => {
      if (!options.keepsProcessAlive) server.unref();
      // Once listening, an error (EMFILE on accept under a flood) is the server's, not ours to die of.
      server.off('error', failedToListen);
      server.on('error', (err) => log.warn(options.what, err));
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}

/** Closes the server and every connection it still has. */
export async function closeHttp(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function guardedRequest(what: string, req: IncomingMessage, res: ServerResponse, handle: ListenOptions['handle']): void {
  res.on('error', () => res.destroy());
  const failed = (err: unknown) => {
    log.error(`${what}: a request failed`, err);
    if (res.headersSent) res.destroy();
    else reply(res, { status: 500, error: 'Meshfleet hit an internal error (details in its log). Retry once; if it repeats, report it with that log.' });
  };
  try {
    const handled = handle(req, res);
    if (handled !== undefined) handled.catch(failed);
  } catch (err) {
    failed(err);
  }
}

export function reply(res: ServerResponse, { status, error, headers }: Refusal): void {
  // Refusals close the connection: a client that earns one gets no kept-alive socket to try again on.
  res.writeHead(status, { ...headers, 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ error }));
}

function clientError(err: NodeJS.ErrnoException, socket: Socket, responding: boolean, limits: HttpLimits): void {
  if (!socket.writable || responding || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, reason, error] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', `Request headers are limited to ${limits.maxHeaderBytes} bytes.`]
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', `Send the whole request within ${limits.headersTimeoutMs} ms.`]
      : [400, 'Bad Request', 'Malformed HTTP request.'];
  const body = JSON.stringify({ error });
  // Like Node's own handler: one write, then close, whatever the client does next.
  socket.write(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  socket.destroy();
}
