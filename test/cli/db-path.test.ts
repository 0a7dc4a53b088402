import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { CLI, FIXTURES, tempDir, type CliResult } from '../helpers/files.js';

// Root may read and write anything, so permission cases run the CLI as nobody when we are root.
const AS_USER = process.getuid?.() === 0 ? { uid: 65_534, gid: 65_534 } : {};
const LEDGER = join(FIXTURES, 'ledger-v1.json');

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  chmodSync(dir, 0o755); // reachable for the other user
});
afterEach(() => cleanup());

function meshfleet(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    input: '', // serve stops when its stdin ends
    env: { ...process.env, MESHFLEET_DB: '', AGENT_MESH_DATA_FILE: '', HOME: dir, ...env },
    timeout: 30_000,
    ...AS_USER,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What the user sees: exit 1, one line saying what is wrong, one indented hint, no stack. */
function expectOneLineError(result: CliResult, message: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  const [line, hint, rest] = result.stderr.split('\n');
  expect(line).toMatch(/^meshfleet: /);
  expect(line).toMatch(message);
  expect(hint).toMatch(/^ {2}\S/);
  expect(rest).toBe('');
  expect(result.stderr).not.toContain('bug');
  expect(result.stderr).not.toMatch(/^ {4}at /m);
}

const COMMANDS: [string, string[]][] = [['serve', ['serve']], ['migrate', ['migrate', LEDGER]]];

describe.each(COMMANDS)('meshfleet %s with a --db that cannot hold a database', (_, args) => {
  const command = (db: string): string[] => [...args, '--db', db];

  it('a folder', () => {
    expectOneLineError(meshfleet(command(dir)), /is a folder, not a database file\.$/);
  }, 60_000);

  it('/dev/null', () => {
    expectOneLineError(meshfleet(command('/dev/null')), /^meshfleet: \/dev\/null is not a regular file \(it is a character device\)\.$/);
  }, 60_000);

  it('a new file in a folder this user cannot write', () => {
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    const result = meshfleet(command(join(readOnly, 'mesh.db')));
    expectOneLineError(result, /mesh\.db cannot be created: the folder .*read-only is not writable for this user\.$/);
    expect(existsSync(join(readOnly, 'mesh.db'))).toBe(false);
  }, 60_000);

  it('a database this user cannot read', () => {
    const path = join(dir, 'mesh.db');
    openStore(path).close();
    chmodSync(path, 0o200);
    expectOneLineError(meshfleet(command(path)), /mesh\.db cannot be read: permission denied\.$/);
  }, 60_000);

  it('a database this user cannot write', () => {
    const path = join(dir, 'mesh.db');
    openStore(path).close();
    chmodSync(path, 0o444);
    expectOneLineError(meshfleet(command(path)), /mesh\.db is read-only for this user/);
  }, 60_000);

  it('a path through a file', () => {
    writeFileSync(join(dir, 'notes.txt'), 'hello\n');
    expectOneLineError(meshfleet(command(join(dir, 'notes.txt', 'mesh.db'))), /cannot be used: a part of it is a file, not a folder\.$/);
  }, 60_000);
});

describe.each(COMMANDS)('meshfleet %s with a database folder that does not exist', (_, args) => {
  const command = (db: string): string[] => [...args, '--db', db];

  it('is an error for --db, and nothing is created', () => {
    const folder = join(dir, 'no', 'such');
    const result = meshfleet(command(join(folder, 'mesh.db')));
    expectOneLineError(result, /mesh\.db cannot be created: the folder .*no\/such does not exist\.$/);
    expect(result.stderr).toContain(`mkdir -p ${folder}`);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  }, 60_000);

  it('is an error for MESHFLEET_DB, and nothing is created', () => {
    const folder = join(dir, 'no', 'such');
    const result = meshfleet(args, { MESHFLEET_DB: join(folder, 'mesh.db') });
    expectOneLineError(result, /mesh\.db cannot be created: the folder .*no\/such does not exist\.$/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  }, 60_000);

  it('is created for the default ~/.meshfleet/mesh.db', () => {
    const home = join(dir, 'home');
    mkdirSync(home);
    chmodSync(home, 0o777); // the other user's home
    const result = meshfleet(args, { HOME: home });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(home, '.meshfleet', 'mesh.db'))).toBe(true);
  }, 60_000);
});
