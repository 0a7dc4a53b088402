import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../log.js';
import { MAX_BATCH_PAYLOAD_BYTES, MAX_LINE_BYTES } from '../mesh/limits.js';
import { checkIncoming, idOfTruncated } from './incoming.js';

const PARSE_ERROR = 'Parse error: the line is not JSON. Send one JSON-RPC 2.0 message per line.';
const TOO_LARGE = `Invalid Request: message too large; a line may hold at most ${MAX_LINE_BYTES / 1_048_576} MiB, and this one was discarded. `
  + `Send less per message (send_messages takes at most ${MAX_BATCH_PAYLOAD_BYTES / 1_048_576} MiB of payloads per call).`;
/** Bytes kept from each end of an oversized line, to find its id. */
const ENDS_BYTES = 1_024;
/** Unanswerable messages logged before the log goes quiet about them: a broken client may send a flood. */
const MAX_DROP_LOGS = 20;

/**
 * MCP over stdio: one JSON-RPC message per line. The SDK's own stdio transport re-copies its
 * whole buffer for every chunk that arrives, which made a 2 MB send_messages call spend about
 * 10 ms copying; this one keeps the chunks of the line being read and joins them once.
 *
 * Every line is checked here before the SDK sees it (src/mcp/incoming.ts): what is wrong with it
 * is answered with a JSON-RPC error, so no client waits on a line the SDK would drop. A line over
 * MAX_LINE_BYTES is not kept: it is skipped to its newline and answered "message too large".
 */
export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while skipping the rest of an oversized line: its first and (so far) last bytes. */
  private skipping?: { head: Buffer; tail: Buffer };
  private dropsLogged = 0;
  private closed = false;

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
    private readonly maxLineBytes = MAX_LINE_BYTES,
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('error', this.onInputError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once('drain', () => resolve());
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('error', this.onInputError);
    if (this.input.listenerCount('data') === 0) this.input.pause();
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = undefined;
    this.onclose?.();
  }

  private readonly onInputError = (error: Error): void => this.onerror?.(error);

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, newline));
      start = newline + 1;
      this.endLine();
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
  };

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skipping === undefined && this.pendingBytes + piece.length <= this.maxLineBytes) {
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      return;
    }
    if (this.skipping === undefined) {
      // Copies (concat allocates), so the skipped chunks themselves are not kept alive.
      const head = Buffer.concat([...this.pending, piece.subarray(0, ENDS_BYTES)], Math.min(ENDS_BYTES, this.pendingBytes + piece.length));
      const last = this.pending.at(-1) ?? Buffer.alloc(0);
      this.skipping = { head, tail: Buffer.from(last.subarray(Math.max(0, last.length - ENDS_BYTES))) };
      this.pending = [];
      this.pendingBytes = 0;
    }
    const tail = this.skipping.tail;
    this.skipping.tail = piece.length >= ENDS_BYTES
      ? Buffer.from(piece.subarray(piece.length - ENDS_BYTES))
      : Buffer.concat([tail, piece]).subarray(Math.max(0, tail.length + piece.length - ENDS_BYTES));
  }

  private endLine(): void {
    if (this.skipping !== undefined) {
      const { head, tail } = this.skipping;
      this.skipping = undefined;
      this.answer(idOfTruncated(head.toString('utf8'), tail.toString('utf8').replace(/\r$/, '')), ErrorCode.InvalidRequest, TOO_LARGE);
      return;
    }
    const line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8').replace(/\r$/, '');
    this.pending = [];
    this.pendingBytes = 0;
    if (line.trim() !== '') this.deliver(line);
  }

  private deliver(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.answer(null, ErrorCode.ParseError, PARSE_ERROR);
      return;
    }
    const checked = checkIncoming(value);
    if (checked.ok) this.onmessage?.(checked.message);
    else if (checked.answer) this.answer(checked.id, checked.code, checked.message);
    else this.logDropped(checked.message);
  }

  /** Answered through send(), so it queues behind the SDK's replies already written. */
  private answer(id: RequestId | null, code: ErrorCode, message: string): void {
    // id null is what JSON-RPC prescribes when the id could not be read; the SDK's type has no room for it.
    void this.send({ jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage);
  }

  private logDropped(problem: string): void {
    if (this.dropsLogged >= MAX_DROP_LOGS) return;
    this.dropsLogged += 1;
    const quiet = this.dropsLogged === MAX_DROP_LOGS ? ' (further ignored messages are not logged)' : '';
    log.warn(`ignored a notification or response from the client (JSON-RPC answers neither): ${problem}${quiet}`);
  }
}
