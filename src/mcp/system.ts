import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { getHealth } from '../mesh/health.js';
import type { ToolDeps } from './deps.js';
import { toolResult } from './result.js';

export function registerSystemTools(server: McpServer, deps: ToolDeps): void {
  server.registerTool('ping', {
    description: 'Check that the server answers.',
    inputSchema: {},
  }, () => toolResult(() => ({ status: 'ok', timestamp: Date.now() })));

  server.registerTool('get_health', {
    description: 'Server and database health: uptime, database size, counts of fleets, agents, messages, pending deliveries, templates.',
    inputSchema: {},
  }, () => toolResult(() => {
    const h = getHealth(deps.store, deps.startedAt);
    return {
      status: h.status,
      version: deps.version,
      pid: process.pid,
      uptime_ms: h.uptimeMs,
      database: { path: h.database.path, size_bytes: h.database.sizeBytes, wal_bytes: h.database.walBytes, schema_version: h.database.schemaVersion },
      counts: {
        fleets: h.counts.fleets, fleets_running: h.counts.fleetsRunning, agents: h.counts.agents, agents_running: h.counts.agentsRunning,
        messages: h.counts.messages, pending_deliveries: h.counts.pendingDeliveries, templates: h.counts.templates,
      },
      agents_supervised_here: deps.supervisor.running,
    };
  }));
}
