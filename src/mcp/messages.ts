import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { IDEMPOTENCY_TTL_MS, MAX_BATCH_PAYLOAD_BYTES, MAX_ID_CHARS, MAX_REPLY_BYTES, MAX_SUBJECT_CHARS } from '../mesh/limits.js';
import {
  ackMessage, BROADCAST, getInbox, hasPendingMessages, MAX_BATCH_MESSAGES, MAX_PAYLOAD_BYTES, MESSAGE_TYPES, requireAgent,
  sendMessage, sendMessages, type OutgoingMessage,
} from '../mesh/messages.js';
import { actingAgent, actingFleet } from './access.js';
import type { ToolDeps } from './deps.js';
import { MeshError } from '../mesh/errors.js';
import { toolResult } from './result.js';
import { waitForChange } from './waiting.js';
import { id, list, oneOf, text, whole } from './schemas.js';
import { messageJson } from './wire.js';

export const MAX_WAIT_MS = 60_000;

const message = {
  fleet_id: id('fleet_id').optional().describe('The fleet; defaults to this server\'s own agent\'s fleet'),
  from_agent_id: id('from_agent_id').optional().describe('The sending agent, a member of the fleet; defaults to this server\'s own agent'),
  to_agent_id: id('to_agent_id').describe(`Recipient agent of the same fleet, or "${BROADCAST}" for every other agent of the fleet`),
  type: oneOf('type', MESSAGE_TYPES),
  payload: text('payload', MAX_PAYLOAD_BYTES, { empty: true }).describe(`Message body, at most ${MAX_PAYLOAD_BYTES} bytes of UTF-8`),
  correlation_id: text('correlation_id', MAX_ID_CHARS, { empty: true }).optional().describe('Thread id: reply with the id of the message you answer'),
  subject: text('subject', MAX_SUBJECT_CHARS, { empty: true }).optional().describe(`Optional title, at most ${MAX_SUBJECT_CHARS} characters (searched, and shown by get_thread)`),
};
const idempotencyKey = id('idempotency_key').optional()
  .describe(`Optional unique key for this send (e.g. a UUID): repeating the call with the same key within ${IDEMPOTENCY_TTL_MS / 3_600_000} h returns the first answer and sends nothing twice`);
type MessageInput = { fleet_id?: string | undefined; from_agent_id?: string | undefined; to_agent_id: string; type: OutgoingMessage['type']; payload: string; correlation_id?: string | undefined; subject?: string | undefined };

const agentArg = id('agent_id').optional().describe('The agent; defaults to this server\'s own agent');
const inboxArgs = {
  agent_id: agentArg,
  since: z.number({ error: 'since must be a number: epoch milliseconds' }).optional().describe('Only messages sent after this time (epoch ms, strict)'),
  limit: whole('limit', 1, 10_000).optional().describe(`At most this many messages (default 1000, max 10000; a page also stops before ${MAX_REPLY_BYTES / 1_048_576} MiB); has_more says if more wait`),
  thread_id: id('thread_id').optional().describe('Only messages of this thread (a thread_id, or any message id of the thread)'),
};

export function registerMessageTools(server: McpServer, deps: ToolDeps): void {
  const { store, changes } = deps;
  const { caller } = deps;
  const outgoing = (m: MessageInput, where = ''): OutgoingMessage => {
    try {
      return {
        fleetId: actingFleet(caller, m.fleet_id, 'send in'), fromAgentId: actingAgent(caller, m.from_agent_id, 'from_agent_id', 'send'),
        toAgentId: m.to_agent_id, type: m.type, payload: m.payload, correlationId: m.correlation_id ?? null,
        ...(m.subject === undefined ? {} : { subject: m.subject }),
      };
    } catch (err) {
      if (err instanceof MeshError && where !== '') throw new MeshError(err.code, `${where}${err.message}`, err.hint);
      throw err;
    }
  };
  const reader = (given: string | undefined, action = 'read the inbox') => actingAgent(caller, given, 'agent_id', action);
  const inbox = (agentId: string, since?: number, limit?: number, threadId?: string) => {
    const { messages, hasMore } = getInbox(store, agentId, { sinceMs: since, limit, threadId });
    return { messages: messages.map(messageJson), has_more: hasMore };
  };

  server.registerTool('send_message', {
    description: `Send a message within a fleet to one agent, or with to_agent_id "${BROADCAST}" to every other agent (each gets its own delivery). Types: ${MESSAGE_TYPES.join(', ')}.`,
    inputSchema: { ...message, idempotency_key: idempotencyKey },
  }, (input) => toolResult(() => {
    const sent = sendMessage(store, outgoing(input), Date.now(), { idempotencyKey: input.idempotency_key });
    if (!sent.replayed) changes.notify();
    return { message_id: sent.messageId, recipients: sent.recipients, ...(sent.replayed ? { replayed: true } : {}) };
  }));

  server.registerTool('send_messages', {
    description: `Send up to ${MAX_BATCH_MESSAGES} messages (payloads together at most ${MAX_BATCH_PAYLOAD_BYTES / 1_048_576} MiB) in one transaction: all are delivered, or none (the error names the first bad one).`,
    inputSchema: { messages: list('messages', z.object(message), MAX_BATCH_MESSAGES, 1), idempotency_key: idempotencyKey },
  }, (input) => toolResult(() => {
    const sent = sendMessages(store, input.messages.map((m, index) => outgoing(m, `messages[${index}]: `)), Date.now(), { idempotencyKey: input.idempotency_key });
    if (!sent.replayed) changes.notify();
    return { message_ids: sent.messageIds, ...(sent.replayed ? { replayed: true } : {}) };
  }));

  server.registerTool('get_inbox', {
    description: 'An agent\'s unacknowledged messages, oldest first. Reading marks them read, not acknowledged: ack_message each one you have handled.',
    inputSchema: inboxArgs,
  }, (input) => toolResult(() => inbox(reader(input.agent_id), input.since, input.limit, input.thread_id)));

  server.registerTool('ack_message', {
    description: 'Acknowledge a message for this agent only; other recipients of a broadcast keep their own copy.',
    inputSchema: { agent_id: agentArg, message_id: id('message_id') },
  }, (input) => toolResult(() => {
    const { alreadyAcknowledged } = ackMessage(store, reader(input.agent_id, 'acknowledge'), input.message_id);
    return { ok: true, already_acknowledged: alreadyAcknowledged };
  }));

  server.registerTool('wait_for_messages', {
    description: `Block until the agent's inbox is non-empty (a message from any process counts) or timeout_ms passes (max ${MAX_WAIT_MS}); returns the inbox like get_inbox, with timed_out.`,
    inputSchema: {
      agent_id: agentArg,
      timeout_ms: whole('timeout_ms', 0, MAX_WAIT_MS, ' ms').optional()
        .describe(`How long to wait, in ms (default 30000, max ${MAX_WAIT_MS})`),
    },
  }, (input, extra) => toolResult(async () => {
    const agentId = reader(input.agent_id);
    requireAgent(store, agentId);
    const arrived = hasPendingMessages(store, agentId)
      || await waitForPending(deps, agentId, input.timeout_ms ?? 30_000, extra.signal);
    return { ...inbox(agentId), timed_out: !arrived };
  }));

  server.registerTool('subscribe_inbox', {
    description: 'A URL streaming this agent\'s new messages as server-sent events, from any process on the database. See `instructions` in the answer for the frame format.',
    inputSchema: { agent_id: agentArg },
  }, (input) => toolResult(async () => {
    const agentId = reader(input.agent_id);
    requireAgent(store, agentId);
    const streamUrl = await deps.push.streamUrl(agentId);
    return { agent_id: agentId, stream_url: streamUrl, instructions: deps.push.instructions() };
  }));
}

/** Resolves true when a message is pending for the agent, false at the timeout or on cancel. */
function waitForPending(deps: ToolDeps, agentId: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  return waitForChange(deps, () => hasPendingMessages(deps.store, agentId), timeoutMs, signal);
}
