// Domain objects as tools return them: snake_case, the old server's field names.
import type { Agent, Fleet } from '../mesh/fleets.js';
import type { InboxMessage } from '../mesh/messages.js';
import type { Template } from '../mesh/templates.js';

export const fleetJson = (f: Fleet) => ({
  id: f.id, status: f.status, created_at: f.createdAt, completed_at: f.completedAt, timeout_ms: f.timeoutMs,
});

export const agentJson = (a: Agent) => ({
  id: a.id, fleet_id: a.fleetId, role: a.role, prompt: a.prompt, agent_file: a.agentFile, profile: a.profile, status: a.status, pid: a.pid,
  retry_count: a.retryCount, attempts: a.attempts, output: a.output, error: a.error, started_at: a.startedAt, completed_at: a.completedAt,
  runtime: a.runtime ?? 'local', last_seen_at: a.lastSeenAt,
});

export const messageJson = (m: InboxMessage) => ({
  id: m.id, fleet_id: m.fleetId, from_agent_id: m.fromAgentId, to_agent_id: m.toAgentId, type: m.type, payload: m.payload,
  correlation_id: m.correlationId, timestamp: m.sentAt, acknowledged: false, read_at: m.readAt,
  subject: m.subject, thread_id: m.threadId,
});

export const templateJson = (t: Template) => ({
  name: t.name, version: t.version, description: t.description, agents: t.agents, created_at: t.createdAt,
});
