import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { MeshError } from '../mesh/errors.js';
import { getHealth } from '../mesh/health.js';
import { quote } from '../mesh/limits.js';
import { parseDurationMs, pruneReportJson, pruneSettledFleets, vacuum } from '../mesh/retention.js';
import type { ToolDeps } from './deps.js';
import { toolResult } from './result.js';
import { flag, text } from './schemas.js';

export function registerSystemTools(server: McpServer, deps: ToolDeps): void {
  server.registerTool('ping', {
    description: 'Check that the server answers.',
    inputSchema: {},
  }, () => toolResult(() => ({ status: 'ok', timestamp: Date.now() })));

  server.registerTool('get_health', {
    description: 'Server and database health: uptime, database size, counts of fleets, agents, messages, pending deliveries, templates; agents supervised and wait_for_messages calls pending in this server.',
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
      agents_supervised_here: deps.agents.runningHere,
      waits_pending: deps.waits.pending,
    };
  }));

  server.registerTool('prune', {
    description: 'Delete fleets settled (complete or failed) longer ago than older_than, with their agents, messages, deliveries, receipts, events, capabilities and outcomes, in short transactions; running fleets are never touched. Returns counts.',
    inputSchema: {
      older_than: text('older_than', 16).describe('Age with a unit: 30d, 12h, 90m or 3600s'),
      dry_run: flag('dry_run').optional().describe('Count what would go; delete nothing'),
      vacuum: flag('vacuum').optional().describe('Then VACUUM to give the space back (other processes cannot write meanwhile)'),
    },
  }, (input) => toolResult(() => {
    const olderThanMs = parseDurationMs(input.older_than);
    if (olderThanMs === undefined) {
      throw new MeshError('invalid', `older_than is ${quote(input.older_than)}; it needs a number and a unit.`, 'Pass e.g. "30d", "12h", "90m" or "3600s".');
    }
    if (input.vacuum && input.dry_run) throw new MeshError('invalid', 'vacuum and dry_run do not go together.', 'Leave out one of them.');
    const report = pruneSettledFleets(deps.store, { olderThanMs, dryRun: input.dry_run ?? false });
    return pruneReportJson(report, input.vacuum ? vacuum(deps.store, 'full') : undefined);
  }));
}
