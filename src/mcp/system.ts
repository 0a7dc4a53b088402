import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { MeshError } from '../mesh/errors.js';
import { getHealth } from '../mesh/health.js';
import { quote } from '../mesh/limits.js';
import { parseDurationMs, pruneReportJson, pruneSettledFleets, vacuum } from '../mesh/retention.js';
import { checkedHead, verifyLedger, verifyReportJson } from '../mesh/verify.js';
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
    description: 'Delete fleets settled (complete or failed) longer ago than older_than, with their agents, messages, deliveries, receipts, events, capabilities, outcomes, tasks and councils, in short transactions; running fleets are never touched. Returns counts.',
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

  server.registerTool('verify_ledger', {
    description: 'Check the database: named consistency checks (errors, warnings, counts) and the hash chain over every message and event, naming the first row altered, deleted or inserted out of order. Reads only. With against_position and against_hash (a head kept from `meshfleet verify --export`), also checks the chain still holds it.',
    inputSchema: {
      against_position: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('Position of a kept head'),
      against_hash: z.string().max(64).optional().describe('chain_hash of a kept head: 64 hex digits'),
    },
  }, (input) => toolResult(() => {
    if ((input.against_position === undefined) !== (input.against_hash === undefined)) {
      throw new MeshError('invalid', 'against_position and against_hash go together.', 'Pass both, from one kept head, or neither.');
    }
    const against = input.against_position === undefined ? undefined : checkedHead(input.against_position, input.against_hash, 'against');
    return verifyReportJson(verifyLedger(deps.store, against === undefined ? {} : { against }), against);
  }));
}
