// The package as a user gets it: `npm pack`, then `npm install -g` of that tarball into a fresh
// prefix, then meshfleet run from that prefix's bin by name, as a host would start it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/cli/context.js';
import { packageRoot } from '../../src/store/package-root.js';
import { tempDir } from '../helpers/files.js';

let temp: ReturnType<typeof tempDir>;
let prefix: string;
let tarball: string;
let files: string[];
/** What the install did before better-sqlite3's native module was put in place. */
let withoutNative: { version: ReturnType<typeof meshfleet>; doctor: ReturnType<typeof meshfleet>; nativeWasThere: boolean };
const NATIVE = join('build', 'Release', 'better_sqlite3.node');

/** npm with none of the npm_* variables an `npm test` run passes down (they would point it at this checkout). */
function npm(args: string[], cwd: string): { stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const result = spawnSync('npm', args, { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return result;
}

/** The installed `meshfleet`, found by name on a PATH of its bin folder and node's. */
function meshfleet(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync('meshfleet', args, { encoding: 'utf8', env: { PATH: searchPath(), HOME: temp.dir, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
const searchPath = (): string => `${join(prefix, 'bin')}:${dirname(process.execPath)}`;

beforeAll(() => {
  temp = tempDir();
  prefix = join(temp.dir, 'prefix');
  // --ignore-scripts: `prepare` would rebuild dist/ under the other test files' feet; vitest's
  // setup has already checked dist/ is as fresh as src/.
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', temp.dir], packageRoot).stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(temp.dir, packed!.filename);
  files = packed!.files.map((f) => f.path);
  // The dependencies come from npm's cache when it has them (CI's `npm ci` filled it). Install
  // scripts are skipped: better-sqlite3's would compile SQLite for minutes; the same version's
  // module, already built for this Node, is copied in below, after the test that it is missing.
  mkdirSync(prefix);
  npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], temp.dir);
  const native = join(prefix, 'lib', 'node_modules', 'meshfleet', 'node_modules', 'better-sqlite3', NATIVE);
  withoutNative = { nativeWasThere: existsSync(native), version: meshfleet(['--version']), doctor: meshfleet(['doctor', '--db', join(temp.dir, 'mesh.db')]) };
  mkdirSync(dirname(native), { recursive: true });
  copyFileSync(join(packageRoot, 'node_modules', 'better-sqlite3', NATIVE), native);
}, 120_000); // two npm runs (pack, then install of 135 packages, metadata maybe from the registry): 30 s on a loaded 2-core machine
afterAll(() => temp?.cleanup());

describe('the packed meshfleet, installed with npm install -g', () => {
  it('ships the built CLI, migrations and fixtures, and no sources or tests', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/bin/main.js', 'dist/src/cli/main.js', 'dist/src/runtime/test-agent.js', 'migrations/0001-mesh.sql', 'fixtures/taxonomy.json']));
    expect(files.filter((f) => /^(src|test|bench)\/|^dist\/(test|bench)\/|\.ts$/.test(f))).toEqual([]);
  });

  it('puts meshfleet on PATH, whose --version needs no native module, and whose doctor names a missing one and how to fix it', () => {
    const installed = join(prefix, 'lib', 'node_modules', 'meshfleet');
    expect(realpathSync(join(prefix, 'bin', 'meshfleet'))).toBe(join(realpathSync(installed), 'dist', 'bin', 'main.js'));
    expect(withoutNative.nativeWasThere).toBe(false);
    expect(withoutNative.version).toEqual({ code: 0, stdout: `${packageVersion()}\n`, stderr: '' });
    expect(withoutNative.doctor.code).toBe(1);
    expect(withoutNative.doctor.stdout).toMatch(/^fail {2}better-sqlite3 +does not load: /m);
    expect(withoutNative.doctor.stdout).toContain('npm rebuild better-sqlite3');
    const doctor = meshfleet(['doctor', '--db', join(temp.dir, 'mesh.db')]);
    expect(doctor.stdout).toMatch(/^ok {4}better-sqlite3 +loads; SQLite /m);
    expect(doctor.code).toBe(0);
  });

  it('serves MCP over stdio when an SDK client starts `meshfleet serve`, and config names that binary', async () => {
    const db = join(temp.dir, 'served.db');
    const config = meshfleet(['config', 'json', '--db', db]);
    expect(config.code).toBe(0);
    const { command, args, env } = JSON.parse(config.stdout).mcpServers.meshfleet;
    expect(command).toBe(join(prefix, 'bin', 'meshfleet'));
    expect(args).toEqual(['serve']);
    const client = new Client({ name: 'host', version: '0.0.0' });
    await client.connect(new StdioClientTransport({ command, args, env: { PATH: searchPath(), HOME: temp.dir, ...env }, stderr: 'ignore' }));
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual(expect.arrayContaining(['ping', 'get_health', 'spawn_fleet', 'send_message']));
      const health = JSON.parse(((await client.callTool({ name: 'get_health', arguments: {} })).content as { text: string }[])[0]!.text);
      expect(health.database.path).toBe(db);
    } finally {
      await client.close();
    }
    expect(existsSync(db)).toBe(true);
  });
});
