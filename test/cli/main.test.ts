import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Command, CommandEntry } from '../../src/cli/command.js';
import type { Context } from '../../src/cli/context.js';
import { loadCommand } from '../../src/cli/command.js';
import { COMMANDS, main } from '../../src/cli/main.js';
import { readConfig } from '../../src/config.js';
import { MeshError } from '../../src/mesh/errors.js';
import { packageRoot } from '../../src/store/package-root.js';
import { runCli, tempDir } from '../helpers/files.js';

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('the meshfleet command', () => {
  it('--help lists every command with one line each', () => {
    const result = runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: meshfleet <command> \[options\]$/m);
    expect(result.stdout).toMatch(/^ {2}migrate +Import a legacy agent-mesh JSON ledger/m);
  });

  it('--help shows, for each command, the summary its own module gives (modules load only when their command runs)', async () => {
    const help = runCli(['--help']).stdout;
    const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
    for (const entry of COMMANDS) {
      const command = await loadCommand(entry);
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
      expect(help).toContain(`  ${entry.name.padEnd(width)}${entry.summary}\n`);
    }
  });

  it('--version prints the package version', () => {
    const result = runCli(['--version']);
    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('a command explains itself with --help', () => {
    const result = runCli(['migrate', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: meshfleet migrate \[ledger\.json\] \[--db PATH\] \[--dry-run\]/);
  });

  it.each([
    [['frobnicate'], "meshfleet: unknown command 'frobnicate'. Run 'meshfleet --help'.\n"],
    [['--frob'], "meshfleet: unknown option '--frob'. Run 'meshfleet --help'.\n"],
    [['migrate', '--frob'], "meshfleet: unknown option '--frob'. Run 'meshfleet --help'.\n"],
    [['migrate', 'a.json', 'b.json'], "meshfleet: migrate takes one ledger file; got 2. Run 'meshfleet --help'.\n"],
  ])('%j is a one-line error and exit 2', (args, message) => {
    const result = runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(message);
    expect(result.stdout).toBe('');
  });
});

/** main() in this process, with the given commands, its output captured. */
async function runMain(argv: string[], commands: readonly CommandEntry[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const temp = tempDir();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const ctx: Context = { config: readConfig({ env: { HOME: temp.dir }, cwd: temp.dir }), stdout, stderr, version: '0.0.0-test' };
  try {
    const code = await main(argv, ctx, commands);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    temp.cleanup();
  }
}

const failing = (name: string, fail: () => never): Command => ({ name, summary: 'fails', usage: `meshfleet ${name}`, run: fail });

describe('an unexpected error in a command', () => {
  it('is a bug: exit 70, the whole error on stderr, nothing on stdout', async () => {
    const cause = Object.assign(new Error('disk said no'), { code: 'EIO' });
    const command = failing('explode', () => { throw new Error('an invariant broke', { cause }); });
    const result = await runMain(['explode', '--x'], [...COMMANDS, command]);
    expect(result.code).toBe(70);
    expect(result.stdout).toBe('');
    const [first, second] = result.stderr.split('\n');
    expect(first).toBe('meshfleet: unexpected failure; this is a bug in meshfleet. Please report it with what follows.');
    expect(second).toBe('Error: an invariant broke');
    // The stack, down to the command that threw, and what caused it.
    expect(result.stderr).toMatch(/^ {4}at .*main\.test\.ts/m);
    expect(result.stderr).toContain('[cause]: Error: disk said no');
    expect(result.stderr).toContain("code: 'EIO'");
  });

  it('is a bug when it is not even an Error, or comes from an async command', async () => {
    const rejecting: Command = { name: 'reject', summary: 'fails', usage: 'meshfleet reject', run: async () => { throw 'a bare string'; } };
    const result = await runMain(['reject'], [rejecting]);
    expect(result).toEqual({
      code: 70,
      stdout: '',
      stderr: "meshfleet: unexpected failure; this is a bug in meshfleet. Please report it with what follows.\n'a bare string'\n",
    });
  });

  it('is not a bug when the user can fix it: exit 1, message and hint, no stack', async () => {
    const command = failing('refuse', () => { throw new MeshError('not_found', 'No fleet "f1".', 'Run meshfleet inspect to list fleets.'); });
    const result = await runMain(['refuse'], [command]);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'meshfleet: No fleet "f1".\n  Run meshfleet inspect to list fleets.\n' });
  });
});
