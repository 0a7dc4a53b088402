import { parseArgs } from 'node:util';
import { MAX_TASK_CHARS, MAX_TOP_N } from '../mesh/limits.js';
import { agentInbox, fleetBoard, fleetDetail, meshOverview } from '../mesh/overview.js';
import { routeWork } from '../routing/route-work.js';
import { readMetrics } from '../store/metrics-query.js';
import type { Store } from '../store/open.js';
import { recentEvents } from '../store/read-model.js';
import { keywords } from '../store/terms.js';
import { UsageError, wholeNumberFlag, type Command } from './command.js';
import { openForReading } from './read-database.js';
import {
  eventJson, fleetDetailJson, inboxViewJson, metricsJson, overviewJson, routingJson,
} from './inspect-json.js';
import { boardJson, boardText } from './inspect-board.js';
import { eventsText, fleetText, inboxText, metricsText, overviewText, routingText } from './inspect-text.js';
import { styleFor } from './table.js';

/** Rows a view lists at most (--limit), and --events N at most. */
export const MAX_INSPECT_ROWS = 10_000;
const DEFAULT_ROWS = 50;
/** Recent agents and events under the fleet list, and a fleet's last events. */
const RECENT = 10;
const VIEWS = ['fleet', 'tasks', 'inbox', 'events', 'metrics', 'routing'] as const;

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Show fleets, a fleet\'s agents and messages, an inbox, events, metrics, routing (--json for scripts)',
  usage: 'meshfleet inspect [--db PATH] [--fleet ID | --tasks FLEET | --inbox AGENT | --events N | --metrics | --routing "task"] [--json]\n\n'
    + 'Without a view: the fleets (newest first), the agents started last and the last events.\n'
    + '  --fleet ID        a fleet: its agents (attempts, pid, output), messages (with receipts), events,\n'
    + '                    live file reservations and councils\n'
    + '  --tasks FLEET     a fleet\'s task board: status, priority, claim, dependencies, result\n'
    + '  --inbox AGENT     an agent\'s unacknowledged messages (read here, nothing is marked read)\n'
    + '  --events N        the last N events\n'
    + '  --metrics         totals, success rate, mean durations, messages per fleet\n'
    + '  --routing "task"  how route_work ranks agents for a task, and why (--top N, default 5;\n'
    + '                    with --fleet ID, that fleet\'s agents only)\n'
    + `  --limit N         rows per list (default ${DEFAULT_ROWS}, at most ${MAX_INSPECT_ROWS})\n`
    + '  --json            the same as JSON (shapes in the README)\n\n'
    + 'Reads only: the database is never created or changed. Colour on a terminal unless NO_COLOR is set.',
  run(args, ctx) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        db: { type: 'string' }, fleet: { type: 'string' }, tasks: { type: 'string' }, inbox: { type: 'string' }, events: { type: 'string' },
        metrics: { type: 'boolean', default: false }, routing: { type: 'string' }, top: { type: 'string' }, limit: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length > 0) throw new UsageError(`inspect takes no arguments, got '${positionals[0]}': name a view with a flag, such as --fleet ID.`);
    const chosen = VIEWS.filter((v) => (v === 'metrics' ? values.metrics : values[v] !== undefined));
    // --fleet narrows --routing to one fleet; otherwise the views exclude one another.
    const views = chosen.length === 2 && chosen.includes('routing') && chosen.includes('fleet') ? ['routing' as const] : chosen;
    if (views.length > 1) throw new UsageError(`inspect shows one view at a time; got --${views.join(' and --')}.`);
    if (values.top !== undefined && values.routing === undefined) throw new UsageError('--top goes with --routing "task".');
    const limit = wholeNumberFlag('--limit', values.limit, DEFAULT_ROWS, MAX_INSPECT_ROWS);
    const eventCount = wholeNumberFlag('--events', values.events, RECENT, MAX_INSPECT_ROWS);
    const top = wholeNumberFlag('--top', values.top, 5, MAX_TOP_N);
    for (const [flag, value] of [['--fleet', values.fleet], ['--tasks', values.tasks], ['--inbox', values.inbox]] as const) {
      if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} needs an id.`);
    }
    if (values.routing !== undefined && values.routing.length > MAX_TASK_CHARS) {
      throw new UsageError(`--routing takes a task of at most ${MAX_TASK_CHARS} characters; got ${values.routing.length}.`);
    }

    const store = openForReading(ctx, values.db, 'inspect');
    try {
      const style = styleFor(ctx.stdout, ctx.config.noColor);
      const now = Date.now();
      const { json, text } = render(store, views[0], { ...values, limit, eventCount, top, now });
      ctx.stdout.write(values.json
        ? `${JSON.stringify({ database: store.path, generated_at: now, ...json() }, null, 2)}\n`
        : text(style));
      return 0;
    } finally {
      store.close();
    }
  },
};

interface Wanted {
  fleet?: string; tasks?: string; inbox?: string; routing?: string;
  limit: number; eventCount: number; top: number; now: number;
}

type Rendered = { json: () => object; text: (style: ReturnType<typeof styleFor>) => string };

function render(store: Store, view: (typeof VIEWS)[number] | undefined, w: Wanted): Rendered {
  switch (view) {
    case 'fleet': {
      const detail = fleetDetail(store, w.fleet!, { messages: w.limit, events: w.eventCount, now: w.now });
      return { json: () => fleetDetailJson(detail, w.now), text: (s) => fleetText(s, detail, w.now) };
    }
    case 'tasks': {
      const board = fleetBoard(store, w.tasks!, w.limit);
      return { json: () => boardJson(board, w.now), text: (s) => boardText(s, board, w.now) };
    }
    case 'inbox': {
      const inbox = agentInbox(store, w.inbox!, w.limit);
      return { json: () => inboxViewJson(inbox), text: (s) => inboxText(s, inbox) };
    }
    case 'events': {
      const events = recentEvents(store, w.eventCount);
      return { json: () => ({ events: events.map(eventJson) }), text: (s) => eventsText(s, events) };
    }
    case 'metrics': {
      const metrics = readMetrics(store, w.limit);
      return { json: () => metricsJson(metrics), text: (s) => metricsText(s, metrics) };
    }
    case 'routing': {
      const description = w.routing!;
      if (w.fleet !== undefined) fleetDetail(store, w.fleet, { messages: 0, events: 0 }); // an unknown fleet is an error, not "no match"
      const matches = routeWork(store, description, { topN: w.top, fleetId: w.fleet });
      const words = keywords(description);
      return { json: () => routingJson(description, words, matches), text: (s) => routingText(s, description, words, matches) };
    }
    default: {
      const overview = meshOverview(store, { fleets: w.limit, agents: RECENT, events: RECENT });
      return { json: () => overviewJson(overview, w.now), text: (s) => overviewText(s, store.path, overview, w.now) };
    }
  }
}
