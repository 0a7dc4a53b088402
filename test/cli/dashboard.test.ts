// `meshfleet dashboard` in a real terminal: tmux runs it in a pane of its own (its own tmux
// server, by socket name), the test types keys with send-keys and reads the screen with
// capture-pane, and another connection writes to the database as another process would.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFleet, markAgentFinished, markAgentStarted } from '../../src/mesh/fleets.js';
import { sendMessage } from '../../src/mesh/messages.js';
import { openStore, type Store } from '../../src/store/open.js';
import { databasePerTest } from '../helpers/database.js';
import { CLI, runCli } from '../helpers/files.js';
import { eventually } from '../helpers/mesh.js';

let dbPath: string;
databasePerTest((paths) => ({ db: dbPath } = paths));

// A tmux server of our own per dashboard started: a server told to exit may still be going when the next starts.
let servers = 0;
const socket = () => `meshfleet-dashboard-test-${process.pid}-${servers}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket(), ...args], { encoding: 'utf8' });
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

interface Mesh { older: string; olderAgents: string[]; newer: string; newerAgent: string }

function seed(store: Store): Mesh {
  const older = createFleet(store, [{ role: 'planner', prompt: 'p' }, { role: 'coder', prompt: 'c' }]);
  const [planner] = older.agents;
  markAgentStarted(store, planner!.id, { pid: 4242, pidStart: null, supervisorId: 's', number: 1, tokenHash: 'h' });
  // An agent's output may hold escape sequences; the screen must not obey them.
  markAgentFinished(store, planner!.id, { status: 'complete', output: 'planned\u001b[2J\u001b]0;pwned\u0007 well', error: null, supervisorId: 's' });
  const newer = createFleet(store, [{ role: 'reviewer', prompt: 'r' }, { role: 'tester', prompt: 't' }]);
  return { older: older.fleet.id, olderAgents: older.agents.map((a) => a.id), newer: newer.fleet.id, newerAgent: newer.agents[0]!.id };
}

let store: Store;
let mesh: Mesh;
beforeEach(() => {
  store = openStore(dbPath);
  mesh = seed(store);
});
afterEach(() => {
  store.close();
  for (; servers > 0; servers -= 1) tmux('kill-server');
});

/** Starts the dashboard in a 120×36 pane; after it exits the pane prints its exit code and whether the tty is back in canonical mode. */
function start(extraEnv = ''): void {
  // Ink renders only a final frame, and chalk no colour, where CI is set; a person's terminal is not CI.
  const command = `env -u CI -u CONTINUOUS_INTEGRATION ${extraEnv} "${process.execPath}" "${CLI}" dashboard --db "${dbPath}" --interval 100; `
    + 'echo "EXIT=$?"; stty -a | tr " " "\\n" | grep -x -- "-\\{0,1\\}icanon"; echo DONE; sleep 120';
  servers += 1;
  const started = tmux('new-session', '-d', '-s', 'dash', '-x', '120', '-y', '36', command);
  expect(started.stderr).toBe('');
}

const screen = (colour = false) => tmux('capture-pane', '-p', ...(colour ? ['-e'] : []), '-t', 'dash').stdout;
const shows = (text: string | RegExp, timeoutMs = 30_000) => eventually(() => {
  const now = screen();
  if (typeof text === 'string') expect(now).toContain(text);
  else expect(now).toMatch(text);
  return now;
}, timeoutMs);

describe.skipIf(!hasTmux)('meshfleet dashboard in a terminal', () => {
  it('shows the newest fleet, follows writes of another process, moves with the arrow keys, and q gives the terminal back', async () => {
    start();
    const first = await shows(`Agents of ${mesh.newer} (2)`);
    expect(first).toMatch(new RegExp(`› ${mesh.newer} +running +░+ 0/2`));
    expect(first).toMatch(new RegExp(`  ${mesh.older} +running +█+░+ 1/2`));
    expect(first).toMatch(/reviewer +pending/);
    expect(first).toContain('↑/↓ fleet  q quit');

    sendMessage(store, { fleetId: mesh.newer, fromAgentId: mesh.newerAgent, toAgentId: '*', type: 'alert', payload: 'written by another process' });
    await shows(`✉ ${mesh.newerAgent} → all alert: written by another process`);
    markAgentFinished(store, mesh.newerAgent, { status: 'failed', output: null, error: 'gave up', supervisorId: undefined });
    await shows(new RegExp(`› ${mesh.newer} +running +█+░+ 1/2`));
    await shows(/reviewer +failed +0 +agent-\S+ +error: gave up/);

    tmux('send-keys', '-t', 'dash', 'Down');
    const moved = await shows(`Agents of ${mesh.older} (2)`);
    expect(moved).toMatch(new RegExp(`› ${mesh.older}`));
    expect(moved).toMatch(/planner +complete +1 +4242 .*planned \[2J \]0;pwned {2}well/);
    expect(moved).toContain('meshfleet dashboard'); // the output's "clear screen" was not obeyed
    tmux('send-keys', '-t', 'dash', 'Up');
    await shows(`Agents of ${mesh.newer} (2)`);

    tmux('send-keys', '-t', 'dash', 'q');
    const after = await shows(/EXIT=0[\s\S]*DONE/);
    expect(after).not.toContain('meshfleet dashboard'); // the alternate screen is gone
    expect(after.split('\n')).toContain('icanon'); // not -icanon: raw mode was undone
  });

  it('Ctrl-C quits the same way', async () => {
    start();
    await shows(`Agents of ${mesh.newer}`);
    tmux('send-keys', '-t', 'dash', 'C-c');
    const after = await shows(/EXIT=0[\s\S]*DONE/);
    expect(after.split('\n')).toContain('icanon');
  });

  it('a kill (SIGTERM) gives the terminal back too', async () => {
    start();
    await shows(`Agents of ${mesh.newer}`);
    const shell = tmux('list-panes', '-t', 'dash', '-F', '#{pane_pid}').stdout.trim();
    const dashboard = spawnSync('ps', ['--ppid', shell, '-o', 'pid=,args='], { encoding: 'utf8' }).stdout
      .split('\n').find((line) => line.includes(' dashboard '))?.trim().split(/\s+/)[0];
    expect(dashboard).toMatch(/^\d+$/);
    process.kill(Number(dashboard), 'SIGTERM');
    const after = await shows(/EXIT=0[\s\S]*DONE/);
    expect(after).not.toContain('meshfleet dashboard');
    expect(after.split('\n')).toContain('icanon');
  });

  it('paints statuses, and not with NO_COLOR', async () => {
    start();
    await shows(`Agents of ${mesh.newer}`);
    expect(screen(true)).toMatch(/\u001b\[(\d+;)*3[0-7]m(running|pending)/);
    tmux('send-keys', '-t', 'dash', 'q');
    await shows(/EXIT=0[\s\S]*DONE/);
    start('NO_COLOR=1');
    await shows(`Agents of ${mesh.newer}`);
    expect(screen(true)).not.toMatch(/\u001b\[(\d+;)*3[0-7]m/);
  });
});

describe('meshfleet dashboard without a terminal', () => {
  it('--once (or a pipe) prints one screen, without colour or escape codes from agents', () => {
    const result = runCli(['dashboard', '--db', dbPath, '--once']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`meshfleet dashboard  ${dbPath}`);
    expect(result.stdout).toMatch(new RegExp(`› ${mesh.newer} +running`));
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).not.toContain('q quit');
  });

  it('an empty mesh says so, and shows the events of no fleet', () => {
    const empty = `${dbPath}.empty`;
    openStore(empty).close();
    const result = runCli(['dashboard', '--db', empty, '--once']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No fleets yet.');
    expect(result.stdout).toMatch(/│Events +│/);
  });

  it.each([
    [['--interval', '50'], "--interval takes a whole number from 100 to 60000, not '50'."],
    [['fleets'], "dashboard takes no arguments, got 'fleets'."],
  ])('%j: exit 2', (args, message) => {
    expect(runCli(['dashboard', '--db', dbPath, ...args])).toEqual({ code: 2, stdout: '', stderr: `meshfleet: ${message} Run 'meshfleet --help'.\n` });
  });

  it('a missing database is exit 1, and none is created', () => {
    const result = runCli(['dashboard', '--db', `${dbPath}.missing`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^meshfleet: No database at .*; dashboard never creates one\./);
  });
});
