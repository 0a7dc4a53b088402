import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/store/package-root.js';
import { runCli } from '../helpers/files.js';

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('the meshfleet command', () => {
  it('--help lists every command with one line each', () => {
    const result = runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: meshfleet <command> \[options\]$/m);
    expect(result.stdout).toMatch(/^ {2}migrate +Import a legacy agent-mesh JSON ledger/m);
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
