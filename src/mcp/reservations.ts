import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  DEFAULT_RESERVATION_TTL_MS, MAX_RESERVATION_PATHS, MAX_RESERVATION_PATTERN_CHARS, MAX_RESERVATION_REASON_CHARS, MAX_RESERVATION_TTL_MS,
  MIN_RESERVATION_TTL_MS,
} from '../mesh/limits.js';
import {
  listReservations, releaseReservations, renewReservations, reserveFiles, type Conflict, type Reservation,
} from '../mesh/reservations.js';
import { actingAgent, actingFleet } from './access.js';
import type { ToolDeps } from './deps.js';
import { pageFields, pageOf } from './paging.js';
import { toolResult } from './result.js';
import { flag, id, list, page, text, whole } from './schemas.js';

const pattern = text('a path', MAX_RESERVATION_PATTERN_CHARS);
const ttl = whole('ttl_ms', MIN_RESERVATION_TTL_MS, MAX_RESERVATION_TTL_MS, ' ms');
const ids = list('ids', whole('an id', 1, Number.MAX_SAFE_INTEGER), 1_000);

export const reservationJson = (r: Reservation) => ({
  id: r.id, fleet_id: r.fleetId, agent_id: r.agentId, path: r.pattern, exclusive: r.exclusive, reason: r.reason,
  created_at: r.createdAt, expires_at: r.expiresAt, released_at: r.releasedAt, released_by: r.releasedBy,
});

const conflictJson = (c: Conflict) => ({
  path: c.pattern,
  holders: c.holders.map((h) => ({ ...reservationJson(h), example: h.example })),
});

export function registerReservationTools(server: McpServer, deps: ToolDeps): void {
  const { store, caller } = deps;
  server.registerTool('reserve_files', {
    description: 'Announce files you are about to edit, for ttl_ms: git wildmatch patterns relative to the repository root ("src/app.ts", "src/**", "docs/*.md"). '
      + 'Patterns no other agent of the fleet holds (overlapping, with either side exclusive) are granted; the rest come back as conflicts with their holders and an example path. Advisory: nothing is locked on disk.',
    inputSchema: {
      paths: list('paths', pattern, MAX_RESERVATION_PATHS, 1).describe(`At most ${MAX_RESERVATION_PATHS} patterns of at most ${MAX_RESERVATION_PATTERN_CHARS} characters`),
      ttl_ms: ttl.optional().describe(`How long they count (default ${DEFAULT_RESERVATION_TTL_MS} = 1 hour; ${MIN_RESERVATION_TTL_MS}–${MAX_RESERVATION_TTL_MS}); renew_reservations extends it`),
      exclusive: flag('exclusive').optional().describe('true (default): nobody else may reserve an overlapping pattern. false: shared with other shared reservations'),
      reason: text('reason', MAX_RESERVATION_REASON_CHARS, { empty: true }).optional().describe('What you are doing, shown to whoever collides'),
      agent_id: id('agent_id').optional().describe('Defaults to this server\'s own agent'),
    },
  }, (input) => toolResult(() => {
    const agentId = actingAgent(caller, input.agent_id, 'agent_id', 'reserve files');
    const { granted, conflicts } = reserveFiles(store, {
      agentId, patterns: input.paths, ttlMs: input.ttl_ms ?? DEFAULT_RESERVATION_TTL_MS, exclusive: input.exclusive ?? true, reason: input.reason ?? '',
    });
    return { ok: conflicts.length === 0, granted: granted.map(reservationJson), conflicts: conflicts.map(conflictJson) };
  }));

  server.registerTool('renew_reservations', {
    description: 'Extend your live reservations (those ids, or all of them) to ttl_ms from now. Expired or released ones cannot be renewed: reserve again.',
    inputSchema: {
      ttl_ms: ttl.optional().describe(`Default ${DEFAULT_RESERVATION_TTL_MS} (1 hour)`),
      ids: ids.optional(),
      agent_id: id('agent_id').optional().describe('Defaults to this server\'s own agent'),
    },
  }, (input) => toolResult(() => {
    const agentId = actingAgent(caller, input.agent_id, 'agent_id', 'renew reservations');
    const { renewed, missing } = renewReservations(store, agentId, input.ids, input.ttl_ms ?? DEFAULT_RESERVATION_TTL_MS);
    return { renewed: renewed.map(reservationJson), not_live: missing };
  }));

  server.registerTool('release_reservations', {
    description: 'Release reservations: those ids, else all of the agent\'s own (or those with the given paths). '
      + (caller.kind === 'worker' ? 'Only your own.' : 'Ids of another agent\'s reservation are force-released (recorded as such).'),
    inputSchema: {
      ids: ids.optional(),
      paths: list('paths', pattern, MAX_RESERVATION_PATHS).optional().describe('Only reservations with exactly these patterns'),
      agent_id: id('agent_id').optional().describe('Defaults to this server\'s own agent'),
    },
  }, (input) => toolResult(() => {
    const agentId = caller.kind === 'operator' && input.agent_id === undefined ? undefined : actingAgent(caller, input.agent_id, 'agent_id', 'release reservations');
    const forcedBy = caller.kind === 'operator' ? { label: 'operator', fleetId: null }
      : caller.kind === 'lead' ? { label: caller.agentId, fleetId: caller.fleetId } : undefined;
    const { released, refused, missing } = releaseReservations(store, { agentId, forcedBy }, { ids: input.ids, patterns: input.paths });
    return { released: released.map(reservationJson), refused, not_live: missing };
  }));

  server.registerTool('list_reservations', {
    description: 'Live file reservations of a fleet, oldest first; with path, only those whose pattern matches that file; history: true adds released and expired ones.',
    inputSchema: {
      fleet_id: id('fleet_id').optional().describe(caller.kind === 'operator' ? 'Only this fleet (default: every fleet)' : 'Defaults to this agent\'s fleet'),
      path: text('path', MAX_RESERVATION_PATTERN_CHARS).optional().describe('A file path relative to the repository root'),
      agent_id: id('agent_id').optional().describe('Only this agent\'s'),
      history: flag('history').optional(),
      ...page(100, 1_000),
    },
  }, (input) => toolResult(() => {
    const fleetId = caller.kind === 'operator' ? input.fleet_id : actingFleet(caller, input.fleet_id, 'list reservations of');
    const all = listReservations(store, { fleetId, path: input.path, agentId: input.agent_id, history: input.history ?? false });
    const shown = pageOf(all, reservationJson, input.offset, input.limit ?? 100);
    return { count: all.length, reservations: shown.items, ...pageFields(shown) };
  }));
}
