import { parseArgs } from 'node:util';
import { dashboardSnapshot } from '../mesh/overview.js';
import { dataVersion } from '../store/read-model.js';
import { UsageError, wholeNumberFlag, type Command } from './command.js';
import type { LiveSource, ScreenSize } from './dashboard-view.js';
import { openForReading } from './read-database.js';
import { styleFor } from './table.js';

/** Fleets the dashboard lists at most, and feed lines it keeps. */
const FLEETS = 200;
const FEED = 200;
// The terminal's own alternate screen: the dashboard draws there, and leaving it gives back the
// shell exactly as it was.
const ENTER_ALTERNATE_SCREEN = '\u001b[?1049h\u001b[H';
const LEAVE_ALTERNATE_SCREEN = '\u001b[?1049l';

type Terminal = NodeJS.WriteStream & { isTTY?: boolean };

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'A live terminal view: fleets and their progress, the selected fleet\'s agents, its messages and events',
  usage: 'meshfleet dashboard [--db PATH] [--once] [--interval MS]\n\n'
    + 'Fleets newest first with their progress, the selected fleet\'s agents, and a feed of its\n'
    + 'messages and events. It looks for changes every --interval ms (default 1000, 100 to 60000) and\n'
    + 'reads again only when another process has written. ↑/↓ (or k/j) choose the fleet; q, Esc or\n'
    + 'Ctrl-C quit and give the terminal back as it was. --once (or output that is not a terminal)\n'
    + 'prints one screen and exits. It only reads: the database is never created or changed.',
  async run(args, ctx) {
    const { values, positionals } = parseArgs({
      args, allowPositionals: true,
      options: { db: { type: 'string' }, once: { type: 'boolean', default: false }, interval: { type: 'string' } },
    });
    if (positionals.length > 0) throw new UsageError(`dashboard takes no arguments, got '${positionals[0]}'.`);
    const intervalMs = wholeNumberFlag('--interval', values.interval, 1_000, 60_000, 100);
    const store = openForReading(ctx, values.db, 'dashboard');
    try {
      // Ink and React load only here: no other command pays for them.
      const [{ render, renderToString }, { createElement }, view] = await Promise.all([import('ink'), import('react'), import('./dashboard-view.js')]);
      const stdout = ctx.stdout as Terminal;
      const stdin = ctx.stdin as (NodeJS.ReadStream & { isTTY?: boolean }) | undefined;
      const colour = styleFor(stdout, ctx.config.noColor).colour;
      const size = (): ScreenSize => ({ columns: stdout.columns ?? 120, rows: stdout.rows ?? 40 });
      let seen = dataVersion(store);
      const source: LiveSource = {
        load: (wanted) => dashboardSnapshot(store, wanted, { fleets: FLEETS, feed: FEED }),
        changed: () => {
          const now = dataVersion(store);
          const changed = now !== seen;
          seen = now;
          return changed;
        },
        size,
      };

      if (values.once || stdout.isTTY !== true || stdin?.isTTY !== true) {
        const frame = createElement(view.Frame, { db: store.path, snapshot: source.load(null), now: Date.now(), colour, size: size(), live: false });
        ctx.stdout.write(`${renderToString(frame, { columns: size().columns })}\n`);
        return 0;
      }

      stdout.write(ENTER_ALTERNATE_SCREEN);
      const app = render(createElement(view.LiveDashboard, { db: store.path, source, intervalMs, colour }),
        { stdout, stdin, exitOnCtrlC: true, patchConsole: false });
      // A closed terminal or a kill ends the app the same way q does, so the screen is given back.
      const quit = () => app.unmount();
      const signals = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
      for (const signal of signals) process.on(signal, quit);
      try {
        await app.waitUntilExit();
      } finally {
        for (const signal of signals) process.off(signal, quit);
        stdout.write(LEAVE_ALTERNATE_SCREEN);
      }
      return 0;
    } finally {
      store.close();
    }
  },
};
