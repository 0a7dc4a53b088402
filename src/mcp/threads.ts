import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { DEFAULT_SEARCH_LIMIT, DEFAULT_THREAD_LIMIT, MAX_SEARCH_LIMIT, MAX_SEARCH_QUERY_CHARS, MAX_THREAD_LIMIT } from '../mesh/limits.js';
import { searchMessages } from '../mesh/search.js';
import { getThread } from '../mesh/threads.js';
import { MeshError } from '../mesh/errors.js';
import { readableFleet } from './access.js';
import type { ToolDeps } from './deps.js';
import { toolResult } from './result.js';
import { flag, id, text, whole } from './schemas.js';
import { messageJson } from './wire.js';

export function registerThreadTools(server: McpServer, deps: ToolDeps): void {
  const { store, caller } = deps;
  const fleetArg = id('fleet_id').optional().describe(caller.kind === 'operator' ? 'Only this fleet (default: every fleet)' : 'Always this agent\'s own fleet');

  server.registerTool('get_thread', {
    description: 'A conversation in send order: the message named and every reply (correlation_id naming a message joins its thread), with subjects.',
    inputSchema: {
      message_id: id('message_id').optional().describe('Any message of the thread'),
      thread_id: id('thread_id').optional().describe('A thread_id from get_inbox or search_messages'),
      fleet_id: fleetArg,
      after: whole('after', 0, Number.MAX_SAFE_INTEGER).optional().describe('From the previous page\'s next_after'),
      limit: whole('limit', 1, MAX_THREAD_LIMIT).optional().describe(`At most this many messages (default ${DEFAULT_THREAD_LIMIT}, max ${MAX_THREAD_LIMIT})`),
    },
  }, (input) => toolResult(() => {
    const named = oneId(input.message_id, input.thread_id);
    const page = getThread(store, named, readableFleet(caller, input.fleet_id, 'read threads in'), input.after ?? 0, input.limit ?? DEFAULT_THREAD_LIMIT);
    return {
      thread_id: page.threadId, fleet_id: page.fleetId, subject: page.messages.find((m) => m.subject !== null)?.subject ?? null,
      messages: page.messages.map((m) => ({ ...messageJson(m), acknowledged: undefined, read_at: undefined, seq: m.seq })),
      has_more: page.hasMore, next_after: page.nextAfter,
    };
  }));

  server.registerTool('search_messages', {
    description: 'Full-text search of message subjects and payloads, best match first (bm25), with a snippet ([matched] words). '
      + 'Syntax: words (all must appear), "a phrase", OR, NOT, prefix*, NEAR(a b), subject:word; literal: true searches the words as written.',
    inputSchema: {
      query: text('query', MAX_SEARCH_QUERY_CHARS).describe(`At most ${MAX_SEARCH_QUERY_CHARS} characters`),
      literal: flag('literal').optional().describe('Search the words as written, ignoring search syntax (default false)'),
      fleet_id: fleetArg,
      from: id('from').optional().describe('Only messages sent by this agent'),
      to: id('to').optional().describe('Only messages delivered to this agent (directly or by broadcast)'),
      since: z.number({ error: 'since must be a number: epoch milliseconds' }).optional().describe('Only messages sent after this time (epoch ms, strict)'),
      limit: whole('limit', 1, MAX_SEARCH_LIMIT).optional().describe(`At most this many results (default ${DEFAULT_SEARCH_LIMIT}, max ${MAX_SEARCH_LIMIT})`),
    },
  }, (input) => toolResult(() => {
    const { hits, unindexed } = searchMessages(store, input.query, {
      literal: input.literal ?? false, fleetId: readableFleet(caller, input.fleet_id, 'search'), fromAgentId: input.from ?? null,
      toAgentId: input.to ?? null, sinceMs: input.since ?? null, limit: input.limit ?? DEFAULT_SEARCH_LIMIT,
    });
    return {
      results: hits.map((h) => ({
        message_id: h.messageId, fleet_id: h.fleetId, from_agent_id: h.fromAgentId, to_agent_id: h.toAgentId, type: h.type, subject: h.subject,
        thread_id: h.threadId, correlation_id: h.correlationId, timestamp: h.sentAt, snippet: h.snippet, score: h.score,
      })),
      // Only when another process's write kept the newest messages from being indexed first.
      ...(unindexed > 0 ? { unindexed, note: `${unindexed} newest messages are not searchable yet (another process holds the database's write lock); search again in a moment.` } : {}),
    };
  }));
}

function oneId(messageId: string | undefined, threadId: string | undefined): string {
  if ((messageId === undefined) === (threadId === undefined)) {
    throw new MeshError('invalid', 'Pass exactly one of message_id and thread_id.', 'message_id names any message of the thread; thread_id a thread id from get_inbox or search_messages.');
  }
  return (messageId ?? threadId)!;
}
