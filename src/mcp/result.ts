import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../log.js';
import { MeshError } from '../mesh/errors.js';

/** Runs a tool's work and shapes its answer: one text item holding JSON, as the old server did. */
export async function toolResult(run: () => unknown): Promise<CallToolResult> {
  try {
    return { content: [{ type: 'text', text: JSON.stringify(await run()) }] };
  } catch (err) {
    // The old server's error shape, {"error": "..."}, is part of our compatibility contract.
    if (err instanceof MeshError) return failed(`${err.message} ${err.hint}`);
    log.error('tool failed', err);
    return failed('Meshfleet hit an internal error (details in its log). Retry once; if it repeats, run `meshfleet doctor`.');
  }
}

export const failed = (error: string): CallToolResult =>
  ({ isError: true, content: [{ type: 'text', text: JSON.stringify({ error }) }] });

/**
 * The SDK answers arguments that fail a tool's zod schema itself, as plain text. Give those
 * answers the same {"error": "..."} shape as every other tool error, so a caller parses one
 * format. createToolError is private to the SDK's types but is the one place its errors pass;
 * the SDK version is pinned and test/mcp covers this shape.
 */
export function useJsonErrors(server: McpServer): void {
  (server as unknown as { createToolError: (message: string) => CallToolResult }).createToolError = (message) =>
    failed(message.replace(/^(MCP error -?\d+: )?Input validation error: Invalid arguments for tool (\S+): /, 'Invalid arguments for $2: ')
      .replace(/\n/g, '; '));
}
