import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../log.js';
import { MeshError } from '../mesh/errors.js';
import { MAX_REPLY_BYTES, quote } from '../mesh/limits.js';
import { isBusy, StoreError } from '../store/errors.js';
import { unknownToolMessage, type Caller } from './access.js';

/** An error's text is cut here: a caller needs the sentence, not a megabyte of its own input. */
const MAX_ERROR_CHARS = 1_000;

/** Runs a tool's work and shapes its answer: one text item holding JSON, as the old server did. */
export async function toolResult(run: () => unknown): Promise<CallToolResult> {
  let text: string;
  try {
    text = JSON.stringify(await run());
  } catch (err) {
    return failed(errorText(err));
  }
  // Every list pages and every page stops at the budget; this is the net under them, so no
  // answer ever becomes a line an MCP client refuses.
  if (text.length > MAX_REPLY_BYTES / 3 && Buffer.byteLength(text) > MAX_REPLY_BYTES) {
    return failed(`The answer would be ${Buffer.byteLength(text)} bytes; replies are limited to ${MAX_REPLY_BYTES}. Ask for less (a smaller limit, or a page with offset).`);
  }
  return { content: [{ type: 'text', text }] };
}

function errorText(err: unknown): string {
  // The old server's error shape, {"error": "..."}, is part of our compatibility contract.
  if (err instanceof MeshError || err instanceof StoreError) return `${err.message} ${err.hint}`;
  if (isBusy(err)) {
    return 'The database is locked by another process (it held the write lock past the busy timeout); nothing was changed. Retry the call in a moment.';
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL') return 'The disk holding the database is full; nothing was changed. Free some space, then retry.';
  if (code === 'SQLITE_READONLY') return 'The database file is read-only for this process; nothing was changed. Check the file\'s permissions.';
  log.error('tool failed', err);
  return 'Meshfleet hit an internal error (details in its log on stderr); nothing was changed. Retry once; if it repeats, report it with that log.';
}

export const failed = (error: string): CallToolResult => ({
  isError: true,
  content: [{ type: 'text', text: JSON.stringify({ error: error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}…` : error }) }],
});

/**
 * The path of the first string (or object key) in `value` that is not well-formed UTF-16 (a lone
 * surrogate), or undefined. Such text cannot be stored as UTF-8 without being altered, so it is
 * refused rather than silently replaced. Walks with its own stack: arguments may nest deeper
 * than the call stack goes.
 */
export function malformedTextAt(value: unknown): string | undefined {
  const pending: [unknown, string][] = [[value, '']];
  while (pending.length > 0) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return path || 'arguments';
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push([item[i], `${path}[${i}]`]);
    } else if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (!key.isWellFormed()) return `${path === '' ? '' : `${path}.`}${quote(key)} (a key)`;
        pending.push([child, path === '' ? key : `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

/**
 * The SDK answers arguments that fail a tool's zod schema, and calls of tools it does not have,
 * itself, as plain text. Give those answers the same {"error": "..."} shape as every other tool
 * error, worded for a model: "messages[1]: fleet_id is required", and for a tool this caller is
 * not offered, who may use it. createToolError is private to the SDK's types but is the one
 * place its errors pass; the SDK version is pinned and test/mcp covers this shape.
 */
export function useJsonErrors(server: McpServer, caller: Caller): void {
  (server as unknown as { createToolError: (message: string) => CallToolResult }).createToolError = (message) => {
    const missing = message.match(/^MCP error -32602: Tool (.*) (?:not found|disabled)$/s);
    if (missing !== null) return failed(unknownToolMessage(caller, missing[1]!));
    const invalid = message.match(/^(?:MCP error -?\d+: )?Input validation error: Invalid arguments for tool (\S+): (.*)$/s);
    if (invalid === null) return failed(message.replace(/^MCP error -?\d+: /, ''));
    const issues = invalid[2]!.split('\n').map(placeIssue);
    return failed(`Invalid arguments for ${invalid[1]}: ${[...new Set(issues)].join('; ')}.`);
  };
}

/** "fleet_id is required at messages[1].fleet_id" → "messages[1]: fleet_id is required". */
function placeIssue(line: string): string {
  const at = line.match(/ at ([\w$]+(?:\[\d+\]|\.[\w$]+)*)$/);
  if (at === null) return line;
  // The message names its own field; the path says where that field sits.
  const where = at[1]!.replace(/(^|\.)[\w$]+$/, '');
  return where === '' ? line.slice(0, at.index) : `${where}: ${line.slice(0, at.index)}`;
}
