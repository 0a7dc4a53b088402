import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { MAX_NOTE_CHARS, MAX_RECEIPT_ACTION_CHARS } from '../mesh/limits.js';
import { getReceipts, recordReceipt, type Receipt } from '../mesh/receipts.js';
import { actingAgent, readableFleet } from './access.js';
import type { ToolDeps } from './deps.js';
import { toolResult } from './result.js';
import { id, text, whole } from './schemas.js';

const MAX_RECEIPTS_PAGE = 1_000;

const receiptJson = (r: Receipt) => ({ message_id: r.messageId, agent_id: r.agentId, action: r.action, note: r.note, recorded_at: r.recordedAt });

export function registerReceiptTools(server: McpServer, deps: ToolDeps): void {
  const { store, caller } = deps;
  server.registerTool('receipt', {
    description: 'Record what this agent did with a message of its fleet ("seen", "started", "done", or any short label; acknowledge with ack_message). Recording the same action again changes nothing and returns the first receipt.',
    inputSchema: {
      message_id: id('message_id'),
      action: text('action', MAX_RECEIPT_ACTION_CHARS).describe(`A short label, at most ${MAX_RECEIPT_ACTION_CHARS} characters, e.g. "seen", "started", "done"`),
      note: text('note', MAX_NOTE_CHARS, { empty: true }).optional().describe(`Optional, at most ${MAX_NOTE_CHARS} characters`),
      agent_id: id('agent_id').optional().describe('The agent; defaults to this server\'s own agent'),
    },
  }, (input) => toolResult(() => {
    const agentId = actingAgent(caller, input.agent_id, 'agent_id', 'record receipts');
    const { receipt, alreadyRecorded } = recordReceipt(store, agentId, input.message_id, input.action, input.note ?? null);
    return { ...receiptJson(receipt), already_recorded: alreadyRecorded };
  }));

  server.registerTool('get_receipts', {
    description: 'Who did what with a message (seen, started, done, ack, and legacy receipts), oldest first.',
    inputSchema: {
      message_id: id('message_id'),
      offset: whole('offset', 0, Number.MAX_SAFE_INTEGER).optional().describe('Receipts to skip, from the previous answer\'s next_offset'),
      limit: whole('limit', 1, MAX_RECEIPTS_PAGE).optional().describe(`At most this many (default and max ${MAX_RECEIPTS_PAGE})`),
    },
  }, (input) => toolResult(() => {
    const offset = input.offset ?? 0;
    const fleetId = readableFleet(caller, undefined, 'read receipts in');
    const { receipts, hasMore } = getReceipts(store, input.message_id, fleetId, offset, input.limit ?? MAX_RECEIPTS_PAGE);
    return { message_id: input.message_id, receipts: receipts.map(receiptJson), has_more: hasMore, next_offset: hasMore ? offset + receipts.length : null };
  }));
}
