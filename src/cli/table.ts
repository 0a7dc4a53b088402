// Aligned text tables for people, with colour only where it can be seen: a terminal, and no
// NO_COLOR. Every cell is made safe first: agents write their output and payloads, and an escape
// sequence in them must not drive the reader's terminal.

export interface Style {
  colour: boolean;
  /** Columns of the terminal; undefined when the output is not one (no cutting to fit). */
  width: number | undefined;
}

export function styleFor(stdout: NodeJS.WritableStream, noColor: boolean): Style {
  const tty = (stdout as { isTTY?: boolean }).isTTY === true;
  const columns = (stdout as { columns?: number }).columns;
  return { colour: tty && !noColor, width: tty && typeof columns === 'number' && columns > 20 ? columns : undefined };
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], blue: [34, 39], magenta: [35, 39], cyan: [36, 39] } as const;
export type Paint = keyof typeof CODES;

export const paint = (style: Style, how: Paint, text: string): string =>
  (style.colour ? `\u001b[${CODES[how][0]}m${text}\u001b[${CODES[how][1]}m` : text);

const STATUS_PAINT: Record<string, Paint> = {
  pending: 'cyan', running: 'yellow', complete: 'green', failed: 'red', interrupted: 'magenta',
};
export const paintStatus = (style: Style, status: string): string => paint(style, STATUS_PAINT[status] ?? 'dim', status);

// C0 and C1 controls, DEL, and the line and paragraph separators: shown as a space (line breaks
// as ⏎), so one cell stays one line and nothing reaches the terminal as a command.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/** One line of plain text, at most `max` characters. */
export function cell(text: string | number | null | undefined, max = 80): string {
  if (text === null || text === undefined) return '';
  const flat = String(text).replace(/\r?\n/g, '⏎').replace(CONTROLS, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

// eslint-disable-next-line no-control-regex
const visibleLength = (text: string): number => [...text.replace(/\u001b\[\d+m/g, '')].length;

/**
 * Columns padded to their widest cell, two spaces apart. Cells are already safe (cell()) and
 * perhaps painted; painting does not count toward the width. On a terminal, the last column is
 * cut so that a row fits on one line.
 */
export function table(style: Style, headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) => {
    const text = cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c)))).join('  ');
    return fit(style, text).trimEnd();
  };
  return [line(headers.map((h) => paint(style, 'bold', h))), ...rows.map(line)].join('\n');
}

function fit(style: Style, text: string): string {
  if (style.width === undefined || visibleLength(text) <= style.width) return text;
  // Cut by visible characters, keeping escape codes whole, then close any colour left open.
  let out = '';
  let shown = 0;
  for (const part of text.split(/(\u001b\[\d+m)/)) {
    if (part.startsWith('\u001b[')) out += part;
    else {
      const chars = [...part];
      const room = style.width - 1 - shown;
      out += chars.slice(0, Math.max(0, room)).join('');
      shown += Math.min(chars.length, Math.max(0, room));
    }
  }
  return `${out}…${style.colour ? '\u001b[0m' : ''}`;
}

/** A section title with a count, as people scan for them. */
export const heading = (style: Style, title: string, note = ''): string => `${paint(style, 'bold', title)}${note === '' ? '' : ` ${paint(style, 'dim', note)}`}`;

/** A heading over a table, or over `empty` (dim) when there is no table. */
export const section = (style: Style, title: string, count: string, body: string, empty: string): string =>
  `${heading(style, title, count)}\n${body === '' ? paint(style, 'dim', empty) : body}\n`;

/** 2h 5m, 3m 12s, 41s, 850 ms: how long ago or how long, to the two largest units. */
export function duration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '';
  if (ms < 0) return '0s';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
  const parts: string[] = [];
  let rest = Math.floor(ms);
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length > 0) parts.push(`${n}${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** 2026-12-07 19:04:03, in UTC as the recent_events view shows it. */
export const clock = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
