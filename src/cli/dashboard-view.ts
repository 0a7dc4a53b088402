// The dashboard's screen, in Ink (React for terminals): fleets with progress, the selected fleet's
// agents, and a feed of its messages and events. Plain createElement calls: no JSX build step.
import { Box, Text, useApp, useInput } from 'ink';
import { createElement as h, useEffect, useRef, useState, type ReactNode } from 'react';
import type { AgentOverview, DashboardSnapshot, FeedItem, FleetOverview } from '../mesh/overview.js';
import { cell, clock, duration } from './table.js';

export interface ScreenSize { columns: number; rows: number }

const STATUS_COLOUR: Record<string, string> = { pending: 'cyan', running: 'yellow', complete: 'green', failed: 'red', interrupted: 'magenta' };

interface FrameProps {
  db: string;
  snapshot: DashboardSnapshot;
  now: number;
  colour: boolean;
  size: ScreenSize;
  /** Whether keys work (a live dashboard) or this is one printed frame (--once). */
  live: boolean;
}

const status = (colour: boolean, text: string): ReactNode => h(Text, { color: colour ? STATUS_COLOUR[text.trim()] : undefined }, text);

/** "███░░ 3/5": settled agents of the fleet. */
function progress(f: FleetOverview): string {
  const settled = f.agents.complete + f.agents.failed + f.agents.interrupted;
  const width = 8;
  const filled = f.agents.total === 0 ? 0 : Math.round((settled / f.agents.total) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${settled}/${f.agents.total}`;
}

function fleetRow(f: FleetOverview, selected: boolean, colour: boolean, now: number): ReactNode {
  return h(Text, { key: f.id, wrap: 'truncate-end', inverse: selected && colour, bold: selected },
    `${selected ? '›' : ' '} ${f.id}  `, status(colour, f.status.padEnd(9)), `  ${progress(f)}  ${f.messages} msg  ${duration(now - f.createdAt)}`);
}

function agentRow(a: AgentOverview, colour: boolean): ReactNode {
  const said = a.outputHead?.trim() ? cell(a.outputHead.trim(), 200) : a.errorHead?.trim() ? `error: ${cell(a.errorHead.trim(), 200)}` : '';
  return h(Text, { key: a.id, wrap: 'truncate-end' },
    `${cell(a.role, 14).padEnd(14)} `, status(colour, a.status.padEnd(11)),
    ` ${String(a.attempts).padStart(2)} ${String(a.pid ?? '').padStart(7)}  ${a.id}  ${said}`);
}

function feedRow(item: FeedItem, index: number): ReactNode {
  const time = clock(item.at).slice(11);
  if (item.kind === 'message') {
    const m = item.message;
    return h(Text, { key: `m${index}`, wrap: 'truncate-end' },
      `${time}  ✉ ${m.fromAgentId} → ${m.toAgentId === '*' ? 'all' : m.toAgentId} ${cell(m.type, 16)}: ${cell(m.payloadHead, 200)}`);
  }
  const e = item.event;
  return h(Text, { key: `e${index}`, wrap: 'truncate-end', dimColor: true },
    `${time}  • ${cell(e.kind, 32)}${e.agentId === null ? '' : ` ${e.agentId}`}${e.data === null ? '' : ` ${cell(e.data, 200)}`}`);
}

const panel = (title: string, rows: ReactNode[], height: number | undefined, empty: string): ReactNode =>
  h(Box, { borderStyle: 'single', flexDirection: 'column', height, overflow: 'hidden', flexShrink: 0 },
    h(Text, { bold: true, wrap: 'truncate-end' }, title),
    ...(rows.length === 0 ? [h(Text, { dimColor: true, key: 'empty' }, empty)] : rows));

/** One whole screen. Panels take what the terminal has: fleets a third at most, agents as many as fit, the feed the rest. */
export function Frame({ db, snapshot, now, colour, size, live }: FrameProps): ReactNode {
  const { fleets, selected, feed } = snapshot;
  const chrome = 3; // a panel's borders and title
  const fleetRows = Math.max(1, Math.min(fleets.length, Math.floor(size.rows / 3) - chrome));
  const selectedIndex = Math.max(0, fleets.findIndex((f) => f.id === selected?.fleet.id));
  const first = Math.min(Math.max(0, selectedIndex - fleetRows + 1), Math.max(0, fleets.length - fleetRows));
  const agents = selected?.agents ?? [];
  const agentRows = Math.max(1, Math.min(agents.length, Math.floor((size.rows - fleetRows - chrome - 1) / 2) - chrome));
  // Live, the feed fills the screen; printed once, it shows its last lines and no padding.
  const feedRows = live ? Math.max(1, size.rows - 1 - (fleetRows + chrome) - (agentRows + chrome) - chrome) : Math.min(20, Math.max(1, feed.length));
  const keys = live ? '↑/↓ fleet  q quit' : '';
  return h(Box, { flexDirection: 'column', width: size.columns },
    h(Box, { justifyContent: 'space-between' },
      h(Text, { bold: true, wrap: 'truncate-end' }, `meshfleet dashboard  ${db}`), h(Text, { dimColor: true }, `${clock(now).slice(11)} UTC  ${keys}`)),
    panel(`Fleets (${fleets.length})`, fleets.slice(first, first + fleetRows).map((f) => fleetRow(f, f.id === selected?.fleet.id, colour, now)),
      fleetRows + chrome, 'No fleets yet.'),
    panel(selected === null ? 'Agents' : `Agents of ${selected.fleet.id} (${agents.length})`, agents.slice(0, agentRows).map((a) => agentRow(a, colour)),
      agentRows + chrome, 'No agents.'),
    panel(selected === null ? 'Events' : 'Messages and events', feed.slice(-feedRows).map(feedRow), feedRows + chrome, 'Nothing yet.'));
}

export interface LiveSource {
  /** A fresh snapshot, the fleet `wanted` selected when it still exists. */
  load(wanted: string | null): DashboardSnapshot;
  /** Whether another process committed since the last call. */
  changed(): boolean;
  size(): ScreenSize;
}

/** The live dashboard: polls every `intervalMs`, queries again only when the database changed, moves with the arrow keys. */
export function LiveDashboard({ db, source, intervalMs, colour }: { db: string; source: LiveSource; intervalMs: number; colour: boolean }): ReactNode {
  const { exit } = useApp();
  const [state, setState] = useState(() => ({ snapshot: source.load(null), now: Date.now(), size: source.size() }));
  const wanted = useRef<string | null>(state.snapshot.selected?.fleet.id ?? null);

  useEffect(() => {
    const timer = setInterval(() => {
      const changed = source.changed();
      setState((s) => ({ snapshot: changed ? source.load(wanted.current) : s.snapshot, now: Date.now(), size: source.size() }));
    }, intervalMs);
    return () => clearInterval(timer);
  }, [source, intervalMs]);

  useInput((input, key) => {
    if (input === 'q' || key.escape) {
      exit();
      return;
    }
    const step = key.upArrow || input === 'k' ? -1 : key.downArrow || input === 'j' ? 1 : 0;
    if (step === 0) return;
    setState((s) => {
      const { fleets } = s.snapshot;
      const at = fleets.findIndex((f) => f.id === wanted.current);
      const next = fleets[Math.min(fleets.length - 1, Math.max(0, at + step))];
      if (next === undefined || next.id === wanted.current) return s;
      wanted.current = next.id;
      return { ...s, snapshot: source.load(next.id) };
    });
  });

  return h(Frame, { db, snapshot: state.snapshot, now: state.now, colour, size: state.size, live: true });
}
