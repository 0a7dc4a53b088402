import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir, type CliResult } from '../helpers/files.js';

let temp: ReturnType<typeof tempDir>;
beforeEach(() => { temp = tempDir(); });
afterEach(() => temp.cleanup());

/** `meshfleet serve` as a host starts it, its stdin already at its end (so a server that did start stops by itself). */
function serve(env: NodeJS.ProcessEnv, args: string[] = []): CliResult {
  const result = spawnSync(process.execPath, [CLI, 'serve', ...args], {
    encoding: 'utf8',
    input: '',
    env: { PATH: process.env.PATH ?? '', HOME: temp.dir, MESHFLEET_DB: join(temp.dir, 'mesh.db'), ...env },
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const COMMAND = { MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'true' };

describe('meshfleet serve with a bad setting', () => {
  it.each([
    [{ MESHFLEET_SSE_PORT: 'abc' }, 'MESHFLEET_SSE_PORT must be a port number (1-65535), not "abc".'],
    [{ MESHFLEET_SSE_PORT: '70000' }, 'MESHFLEET_SSE_PORT must be a port number (1-65535), not "70000".'],
    [{ MESHFLEET_RUNTIME: 'claude' }, 'MESHFLEET_RUNTIME must be opencode or command, not "claude".'],
    [{ MESHFLEET_RETRY_BASE_MS: '1.5' }, 'MESHFLEET_RETRY_BASE_MS must be a whole number of milliseconds from 0 to 3600000, not "1.5".'],
    [{ MESHFLEET_AGENT_TIMEOUT_MS: '30m' }, 'MESHFLEET_AGENT_TIMEOUT_MS must be a whole number of milliseconds from 1 to 2147483647, not "30m".'],
    [{ MESHFLEET_AGENT_TIMEOUT_MS: '0' }, 'MESHFLEET_AGENT_TIMEOUT_MS must be a whole number of milliseconds from 1 to 2147483647, not "0".'],
    [{ MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: '' },
      'MESHFLEET_RUNTIME=command needs MESHFLEET_AGENT_COMMAND, the command line to run for each agent (such as "node my-agent.js"); it is not set.'],
  ])('%j is one line on stderr and exit 2, before anything starts', (env, message) => {
    const result = serve({ ...COMMAND, ...env });
    expect(result.stderr).toBe(`meshfleet: ${message}\n`);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    // Nothing started: no database, no WAL, nothing in the default location either.
    expect(readdirSync(temp.dir)).toEqual([]);
  });

  it.each([
    [['--runtime', 'docker'], '--runtime must be opencode or command, not "docker".'],
    [['--runtime', 'command'],
      '--runtime command needs MESHFLEET_AGENT_COMMAND, the command line to run for each agent (such as "node my-agent.js"); it is not set.'],
    [['--durability', 'fast'], '--durability must be normal or full, not "fast".'],
  ])('flags %j are checked the same way', (args, message) => {
    const result = serve({}, args);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `meshfleet: ${message}\n` });
    expect(readdirSync(temp.dir)).toEqual([]);
  });

  it('does not repeat a bad MESHFLEET_AUTH_TOKEN, a secret, on stderr', () => {
    const result = serve({ ...COMMAND, MESHFLEET_AUTH_TOKEN: 'hunter2 and more' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^meshfleet: MESHFLEET_AUTH_TOKEN must be printable ASCII without spaces .*\(16 characters, not shown: it is a secret\) is not\.\n$/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('starts with the same settings once they are valid', () => {
    const result = serve({ ...COMMAND, MESHFLEET_SSE_PORT: '8123', MESHFLEET_RETRY_BASE_MS: '0', MESHFLEET_AGENT_TIMEOUT_MS: '60000', MESHFLEET_AUTH_TOKEN: 'operator-token' });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(temp.dir, 'mesh.db'))).toBe(true);
  });

  it('a bad setting of serve does not stop another command', () => {
    const result = runCli(['migrate', '--dry-run'], { HOME: temp.dir, MESHFLEET_SSE_PORT: 'abc', MESHFLEET_RUNTIME: 'claude' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('nothing to import');
  });

  it('--help lists every variable serve reads', () => {
    const { code, stdout } = runCli(['serve', '--help']);
    expect(code).toBe(0);
    for (const name of ['MESHFLEET_DB', 'MESHFLEET_RUNTIME', 'MESHFLEET_AGENT_COMMAND', 'MESHFLEET_RETRY_BASE_MS', 'MESHFLEET_AGENT_TIMEOUT_MS',
      'MESHFLEET_SSE_PORT', 'MESHFLEET_AUTH_TOKEN', 'MESHFLEET_AGENT_ID', 'MESHFLEET_AGENT_TOKEN']) expect(stdout).toContain(name);
  });
});
