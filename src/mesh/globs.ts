// File reservation patterns: git's wildmatch rules (as in a `:(glob)` pathspec), relative to the
// repository's root. A path is matched by picomatch, configured to those rules. Whether two
// patterns can both match one path (two reservations conflict) is decided exactly here: each
// pattern becomes a small automaton, and a path both accept is searched for breadth first. The
// path found is returned, so a conflict always comes with an example, and tests check that
// example against picomatch.
import picomatch from 'picomatch';
import { MeshError } from './errors.js';
import { MAX_RESERVATION_PATTERN_CHARS, MAX_RESERVATION_WILDCARDS, quote } from './limits.js';

/**
 * wildmatch with WM_PATHNAME: `*`, `?` and `[...]` never match `/`; `**` between slashes (or at
 * either end) spans folders; dot files are ordinary; no braces, extglobs or negation.
 */
const PICOMATCH_OPTIONS = { dot: true, nobrace: true, noextglob: true, nonegate: true, posix: true, strictSlashes: true } as const;

/** A set of characters, as code point ranges; `negated` takes every other character but `/`. */
interface CharSet {
  ranges: [number, number][];
  negated: boolean;
}

type Token =
  | { kind: 'char'; set: CharSet } // one character of the set, never `/` unless the set is the literal `/`
  | { kind: 'star' } // any run of characters but `/`
  | { kind: 'any' } // any run of characters, `/` included (a trailing `/**`, or `**` alone)
  | { kind: 'dirs' }; // `**/`: nothing, or any run of characters ending in `/`

const SLASH = 0x2f;
const POSIX_CLASSES: Record<string, [number, number][]> = {
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  digit: [[0x30, 0x39]],
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  upper: [[0x41, 0x5a]],
  lower: [[0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
};

/** Checks a pattern and returns it unchanged; a MeshError says what is wrong with it. */
export function checkPattern(pattern: string, field = 'paths'): string {
  parsePattern(pattern, field);
  return pattern;
}

/** Whether `path` (relative to the repository root, `/`-separated) matches `pattern`. */
export function pathMatcher(pattern: string): (path: string) => boolean {
  // picomatch reads parentheses as groups even without extglobs; in wildmatch they are letters
  // (Next.js route folders such as `app/(shop)/page.tsx`).
  const isMatch = picomatch(pattern.replace(/[()]/g, '\\$&'), PICOMATCH_OPTIONS);
  // picomatch's expressions never let a wildcard match a line break, which git allows in a file
  // name: the pattern's own automaton (the one overlap uses) decides those paths.
  let own: Automaton | undefined;
  return (path) => {
    if (!LINE_BREAK.test(path)) return isMatch(path);
    own ??= automaton(parsePattern(pattern, 'paths'));
    return accepts(own, path);
  };
}

const LINE_BREAK = /[\n\r\u2028\u2029]/u;

/** Whether an automaton accepts a whole path. */
function accepts(a: Automaton, path: string): boolean {
  let states = new Set(a.closure(0));
  for (const char of path) {
    const next = new Set<number>();
    for (const state of states) for (const to of a.step(state, char.codePointAt(0)!)) next.add(to);
    if (next.size === 0) return false;
    states = next;
  }
  return [...states].some((state) => a.accepts(state));
}

/**
 * How far searches may go, in states visited, before two patterns count as overlapping unproven
 * (and so conflicting): one call of reserve_files shares one budget across all its checks, so
 * hostile patterns cannot hold the write lock for long.
 */
const PAIR_STATES = 20_000;
export const searchBudget = (states = 400_000): { states: number } => ({ states });

/**
 * Whether two patterns can match one file: `{ example }` with a path both match (well formed: no
 * empty folder name, no `/` at either end), `{ example: null }` when the search was too large to
 * finish (counted as overlapping, to be safe), or undefined when no path matches both.
 */
export function overlap(a: string, b: string, budget = searchBudget()): { example: string | null } | undefined {
  const [pa, pb] = [literalPrefix(a), literalPrefix(b)];
  if (!pa.startsWith(pb) && !pb.startsWith(pa)) return undefined; // they part before any wildcard
  const [sa, sb] = [literalSuffix(a), literalSuffix(b)];
  if (!sa.endsWith(sb) && !sb.endsWith(sa)) return undefined; // or after the last one
  const left = automaton(parsePattern(a, 'paths'));
  const right = automaton(parsePattern(b, 'paths'));
  // An example without dot files reads better ("src/a.ts", not "src/.ts"); look for one first.
  // Each pair may take a share of the call's budget, so one hard pair cannot starve the rest.
  const pair = { states: Math.min(PAIR_STATES, budget.states) };
  const spent = (): void => { budget.states -= Math.min(PAIR_STATES, budget.states) - pair.states; };
  const found = search(left, right, pair, false) ?? search(left, right, pair, true);
  spent();
  return found;
}

function search(left: Automaton, right: Automaton, budget: { states: number }, dotFiles: boolean): { example: string | null } | undefined {
  const alphabet = representatives([...left.sets, ...right.sets]);
  // Product of both automata and a third that keeps the path well formed (wellFormed below); a
  // state is one number, (left * right.size + right) * 4 + well-formedness.
  const width = right.size;
  const from = new Map<number, number>(); // state → the state it was reached from
  const via = new Map<number, number>(); // state → the character that reached it
  const queue: number[] = [];
  const visit = (state: number, previous: number, char: number): void => {
    if (from.has(state)) return;
    from.set(state, previous);
    via.set(state, char);
    queue.push(state);
  };
  for (const l of left.closure(0)) for (const r of right.closure(0)) visit((l * width + r) * 4, -1, -1);
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    const p = state % 4;
    const r = Math.floor(state / 4) % width;
    const l = Math.floor(state / 4 / width);
    if (p === 1 && left.accepts(l) && right.accepts(r)) return { example: spell(from, via, state) };
    if (--budget.states < 0) return { example: null };
    for (const char of alphabet) {
      const nextP = wellFormed(p, char, dotFiles);
      if (nextP < 0) continue;
      const rights = right.step(r, char);
      if (rights.length === 0) continue;
      for (const l2 of left.step(l, char)) for (const r2 of rights) visit((l2 * width + r2) * 4 + nextP, state, char);
    }
  }
  return undefined;
}

/**
 * The third automaton: names are not empty, ".", or "..". States: 0 at the start of a name, 1
 * inside an ordinary one (the only accepting state), 2 after ".", 3 after "..". -1: refused.
 * Without `dotFiles`, no name starts with ".".
 */
function wellFormed(state: number, char: number, dotFiles: boolean): number {
  const DOT = 0x2e;
  if (char === SLASH) return state === 1 ? 0 : -1;
  if (char === DOT && state === 0 && !dotFiles) return -1;
  if (char === DOT && (state === 0 || state === 2)) return state === 0 ? 2 : 3;
  return 1;
}

/** The characters before the first wildcard or escape: two patterns whose prefixes part never meet. */
function literalPrefix(pattern: string): string {
  const at = pattern.search(/[*?[\\]/);
  return at < 0 ? pattern : pattern.slice(0, at);
}

/** The characters after the last wildcard: two patterns whose endings differ never meet. */
function literalSuffix(pattern: string): string {
  const at = Math.max(pattern.lastIndexOf('*'), pattern.lastIndexOf('?'), pattern.lastIndexOf(']'), pattern.lastIndexOf('\\'));
  return at < 0 ? pattern : pattern.slice(at + 1);
}

function spell(from: Map<number, number>, via: Map<number, number>, end: number): string {
  const chars: number[] = [];
  for (let at = end; at !== -1; at = from.get(at)!) if (via.get(at)! >= 0) chars.push(via.get(at)!);
  return String.fromCodePoint(...chars.reverse());
}

interface Automaton {
  sets: CharSet[];
  /** States are numbered 0 … size - 1. */
  size: number;
  /** The states reachable from `state` without reading a character. */
  closure(state: number): number[];
  step(state: number, char: number): number[];
  accepts(state: number): boolean;
}

/**
 * States are positions between tokens (0…n); `dirs` at position i also has an inner state
 * n + 1 + i (inside the folders it spans, before their closing `/`).
 */
function automaton(tokens: Token[]): Automaton {
  const n = tokens.length;
  const inner = (i: number): number => n + 1 + i;
  // Every token but a character may match nothing, so each position reaches the next ones.
  const closures: number[][] = [];
  for (let s = n; s >= 0; s--) {
    const token = tokens[s];
    closures[s] = token !== undefined && token.kind !== 'char' ? [s, ...closures[s + 1]!] : [s];
  }
  const closure = (state: number): number[] => closures[state]!;
  const steps = new Map<number, number[]>();
  const compute = (state: number, char: number): number[] => {
    if (state > n) {
      // Inside the folders a `**/` spans: stay, or leave through a `/`.
      return char === SLASH ? [state, ...closure(state - n)] : [state];
    }
    const token = tokens[state];
    if (token === undefined) return [];
    if (token.kind === 'char') return inSet(token.set, char) ? closure(state + 1) : [];
    if (token.kind === 'star') return char === SLASH ? [] : closure(state);
    if (token.kind === 'any') return closure(state);
    return char === SLASH ? [] : [inner(state)]; // dirs: the first folder begins
  };
  return {
    sets: tokens.flatMap((t) => (t.kind === 'char' ? [t.set] : [])),
    size: 2 * n + 2,
    closure,
    step: (state, char) => {
      const key = state * 0x110000 + char;
      let next = steps.get(key);
      if (next === undefined) steps.set(key, next = compute(state, char));
      return next;
    },
    accepts: (state) => state <= n && closures[state]!.includes(n),
  };
}

function inSet(set: CharSet, char: number): boolean {
  const listed = set.ranges.some(([lo, hi]) => char >= lo && char <= hi);
  if (set.negated) return !listed && char !== SLASH;
  return listed;
}

/** One character from every class of characters the sets tell apart, `/` among them. */
function representatives(sets: CharSet[]): number[] {
  const points = new Set<number>([SLASH, 0x2e, 0x61]);
  for (const set of sets) {
    for (const [lo, hi] of set.ranges) for (const c of [lo - 1, lo, hi, hi + 1]) if (c > 0 && c <= 0x10ffff) points.add(c);
  }
  // A character no set names, for the negated classes, `?` and `*`.
  for (let c = 0x41; ; c++) if (!sets.some((s) => s.ranges.some(([lo, hi]) => c >= lo && c <= hi))) { points.add(c); break; }
  // "a" first: of examples of one length, the search keeps the first it finds, and "src/a.ts" reads best.
  return [...points].filter((c) => c !== 0 && !(c >= 0xd800 && c <= 0xdfff)).sort((x, y) => (x === 0x61 ? -1 : y === 0x61 ? 1 : x - y));
}

function invalid(field: string, pattern: string, what: string): MeshError {
  return new MeshError('invalid', `${field}: the pattern ${quote(pattern)} ${what}.`,
    'Give paths relative to the repository root, such as "src/app.ts", "src/**" or "docs/*.md" (git\'s wildmatch rules).');
}

function parsePattern(pattern: string, field: string): Token[] {
  if (pattern.length === 0) throw invalid(field, pattern, 'is empty');
  if (pattern.length > MAX_RESERVATION_PATTERN_CHARS) {
    throw new MeshError('invalid', `${field}: a pattern may be at most ${MAX_RESERVATION_PATTERN_CHARS} characters; got ${pattern.length}.`, 'Reserve a folder with "folder/**" instead of listing long names.');
  }
  if (/[\u0000-\u001f\u007f]/.test(pattern)) throw invalid(field, pattern, 'holds a control character');
  if (pattern.startsWith('/')) throw invalid(field, pattern, 'starts with "/"');
  if (pattern.split('/').some((part) => part === '..' || part === '.')) throw invalid(field, pattern, 'has a "." or ".." folder');
  if (/\/\/|\/$/.test(pattern)) throw invalid(field, pattern, 'has an empty folder name');
  if (/\\$/.test(pattern)) throw invalid(field, pattern, 'ends with a lone "\\"');
  if (/\*{3,}/.test(pattern.replace(/\\./g, ''))) throw invalid(field, pattern, 'has three or more "*" in a row (write "*" within a name, "**" across folders)');
  const wildcards = pattern.replace(/\\./g, '').match(/\*+|\?|\[/g)?.length ?? 0;
  if (wildcards > MAX_RESERVATION_WILDCARDS) {
    throw new MeshError('invalid', `${field}: a pattern may hold at most ${MAX_RESERVATION_WILDCARDS} wildcards (*, **, ?, [...]); ${quote(pattern)} has ${wildcards}.`,
      'Reserve a folder with "folder/**", or split the pattern in two.');
  }
  const tokens: Token[] = [];
  const literal = (c: number): Token => ({ kind: 'char', set: { ranges: [[c, c]], negated: false } });
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') { tokens.push(literal(chars[++i]!.codePointAt(0)!)); continue; }
    if (c === '?') { tokens.push({ kind: 'char', set: { ranges: [], negated: true } }); continue; }
    if (c === '[') { i = parseClass(chars, i, tokens, field, pattern); continue; }
    if (c !== '*') { tokens.push(literal(c.codePointAt(0)!)); continue; }
    let end = i;
    while (chars[end + 1] === '*') end++;
    const double = end > i;
    const before = i === 0 || chars[i - 1] === '/';
    const after = end + 1 === chars.length || chars[end + 1] === '/';
    i = end;
    if (!double || !before || !after) { tokens.push({ kind: 'star' }); continue; }
    if (end + 1 === chars.length) {
      tokens.push({ kind: 'any' }); // `dir/**` or `**`: everything below
    } else {
      tokens.push({ kind: 'dirs' }); // `**/` and `/**/`: any number of folders, none included
      i++; // the `/` belongs to it
    }
  }
  return tokens;
}

function parseClass(chars: string[], open: number, tokens: Token[], field: string, pattern: string): number {
  let i = open + 1;
  const negated = chars[i] === '!' || chars[i] === '^';
  if (negated) i++;
  const ranges: [number, number][] = [];
  let first = true;
  for (; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === ']' && !first) {
      if (!negated && ranges.length === 0) throw invalid(field, pattern, 'has an empty [] class');
      tokens.push({ kind: 'char', set: { ranges, negated } });
      return i;
    }
    first = false;
    if (c === '/') throw invalid(field, pattern, 'has "/" inside [...] (a class matches one character of a name)');
    if (c === '[' && chars[i + 1] === ':') {
      const close = chars.indexOf(':', i + 2);
      const name = close > 0 && chars[close + 1] === ']' ? chars.slice(i + 2, close).join('') : '';
      const named = POSIX_CLASSES[name];
      if (named === undefined) throw invalid(field, pattern, 'has an unknown [:class:]');
      ranges.push(...named);
      i = close + 1;
      continue;
    }
    const lo = c === '\\' ? chars[++i] : c;
    if (lo === undefined) break;
    let hi = lo;
    if (chars[i + 1] === '-' && chars[i + 2] !== undefined && chars[i + 2] !== ']') {
      hi = chars[i + 2] === '\\' ? chars[i + 3] ?? '' : chars[i + 2]!;
      i += chars[i + 2] === '\\' ? 3 : 2;
    }
    const [a, b] = [lo.codePointAt(0)!, hi.codePointAt(0)!];
    if (b < a) throw invalid(field, pattern, `has a backwards range ${lo}-${hi}`);
    ranges.push([a, b]);
  }
  throw invalid(field, pattern, 'has a "[" with no closing "]"');
}
