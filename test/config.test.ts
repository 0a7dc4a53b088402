import { homedir, tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, readAgentEnvironment, readConfig, type ServeFlags } from '../src/config.js';

const CWD = '/work/project';
const HOME = '/home/someone';

const config = (env: NodeJS.ProcessEnv = {}) => readConfig({ env: { HOME, ...env }, cwd: CWD });
const serve = (env: NodeJS.ProcessEnv = {}, flags: ServeFlags = {}) => config(env).serve(flags);

/** The error a bad setting gives: a ConfigError of one line. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const { message } = err as ConfigError;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('the database location', () => {
  it('is ~/.meshfleet/mesh.db by default, the one location whose folder may be created', () => {
    expect(config().database()).toEqual({ path: `${HOME}/.meshfleet/mesh.db`, isDefault: true });
  });

  it('is MESHFLEET_DB when set, relative to the working folder', () => {
    expect(config({ MESHFLEET_DB: 'data/mesh.db' }).database()).toEqual({ path: `${CWD}/data/mesh.db`, isDefault: false });
  });

  it('is --db over MESHFLEET_DB', () => {
    expect(config({ MESHFLEET_DB: '/elsewhere/mesh.db' }).database('/chosen/mesh.db')).toEqual({ path: '/chosen/mesh.db', isDefault: false });
  });

  it('ignores an empty MESHFLEET_DB, as a shell\'s `MESHFLEET_DB= meshfleet` means', () => {
    expect(config({ MESHFLEET_DB: '' }).database().isDefault).toBe(true);
  });

  it('refuses an empty --db', () => {
    expect(refusal(() => config().database(''))).toBe('--db must be the path of a database file, not "".');
  });
});

describe('HOME', () => {
  it('places the default database and the legacy ledger', () => {
    const c = config({ HOME: '/home/other' });
    expect(c.homeDir).toBe('/home/other');
    expect(c.legacyLedgerPath).toBe('/home/other/.config/opencode/agent-mesh.json');
  });

  it('falls back to the operating system\'s home folder when unset or empty', () => {
    expect(readConfig({ env: {}, cwd: CWD }).homeDir).toBe(homedir());
    expect(readConfig({ env: { HOME: '' }, cwd: CWD }).homeDir).toBe(homedir());
  });
});

describe('what meshfleet demo hands its own server', () => {
  it('drops every MESHFLEET_ variable of the shell, keeps the rest', () => {
    const env = config({ PATH: '/bin', MESHFLEET_DB: '/x.db', MESHFLEET_AGENT_ID: 'a', MESHFLEET_AGENT_TOKEN: 't', MESHFLEET_AUTH_TOKEN: 'o' }).plainChildEnv();
    expect(env).toEqual({ HOME, PATH: '/bin' });
  });

  it('puts throwaway files in TMPDIR, else the system\'s temp folder', () => {
    expect(config({ TMPDIR: '/var/tmp/mine' }).tempDir).toBe('/var/tmp/mine');
    expect(config({ TMPDIR: '' }).tempDir).toBe(tmpdir());
  });
});

describe('AGENT_MESH_DATA_FILE', () => {
  it('names the legacy ledger, relative to the working folder', () => {
    expect(config({ AGENT_MESH_DATA_FILE: 'old/agent-mesh.json' }).legacyLedgerPath).toBe(`${CWD}/old/agent-mesh.json`);
    expect(config({ AGENT_MESH_DATA_FILE: '' }).legacyLedgerPath).toBe(`${HOME}/.config/opencode/agent-mesh.json`);
  });
});

describe('serve settings', () => {
  it('have defaults for everything', () => {
    expect(serve()).toEqual({
      db: { path: `${HOME}/.meshfleet/mesh.db`, isDefault: true },
      durability: 'normal',
      runtime: 'opencode',
      agentCommand: undefined,
      ssePort: undefined,
      authToken: undefined,
      retryBaseMs: undefined,
      agentTimeoutMs: undefined,
      agentId: undefined,
      agentToken: undefined,
      projectDir: CWD,
      homeDir: HOME,
      inheritedEnv: { HOME },
      useHub: true,
      hubIdleMs: 300_000,
    });
  });

  it('treat every empty variable as unset', () => {
    const empty = Object.fromEntries(['MESHFLEET_RUNTIME', 'MESHFLEET_AGENT_COMMAND', 'MESHFLEET_SSE_PORT', 'MESHFLEET_AUTH_TOKEN',
      'MESHFLEET_RETRY_BASE_MS', 'MESHFLEET_AGENT_TIMEOUT_MS', 'MESHFLEET_AGENT_ID', 'MESHFLEET_AGENT_TOKEN', 'MESHFLEET_NO_HUB', 'MESHFLEET_HUB_IDLE_MS'].map((name) => [name, '']));
    const { inheritedEnv, ...settings } = serve(empty);
    const { inheritedEnv: _, ...defaults } = serve();
    expect(settings).toEqual(defaults);
    expect(inheritedEnv).toEqual({ HOME, ...empty });
  });

  describe('runtime: --runtime, else MESHFLEET_RUNTIME', () => {
    it('takes either name', () => {
      expect(serve({ MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'node agent.js' })).toMatchObject({ runtime: 'command', agentCommand: 'node agent.js' });
      expect(serve({ MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'x' }, { runtime: 'opencode' }).runtime).toBe('opencode');
    });

    it('refuses another name, naming where it came from', () => {
      expect(refusal(() => serve({ MESHFLEET_RUNTIME: 'claude' }))).toBe('MESHFLEET_RUNTIME must be opencode or command, not "claude".');
      expect(refusal(() => serve({ MESHFLEET_RUNTIME: 'opencode' }, { runtime: 'Command' }))).toBe('--runtime must be opencode or command, not "Command".');
    });

    it('command needs MESHFLEET_AGENT_COMMAND', () => {
      expect(refusal(() => serve({ MESHFLEET_RUNTIME: 'command' }))).toBe(
        'MESHFLEET_RUNTIME=command needs MESHFLEET_AGENT_COMMAND, the command line to run for each agent (such as "node my-agent.js"); it is not set.');
      expect(refusal(() => serve({ MESHFLEET_AGENT_COMMAND: '   ' }, { runtime: 'command' }))).toBe(
        '--runtime command needs MESHFLEET_AGENT_COMMAND, the command line to run for each agent (such as "node my-agent.js"); it is blank ("   ").');
    });
  });

  describe('--durability', () => {
    it('is normal or full', () => {
      expect(serve({}, { durability: 'full' }).durability).toBe('full');
      expect(serve({}, { durability: 'normal' }).durability).toBe('normal');
      expect(refusal(() => serve({}, { durability: 'FULL' }))).toBe('--durability must be normal or full, not "FULL".');
    });
  });

  describe('the hub: --no-hub, MESHFLEET_NO_HUB, MESHFLEET_HUB_IDLE_MS', () => {
    it('uses the hub unless --no-hub or MESHFLEET_NO_HUB says otherwise', () => {
      expect(serve().useHub).toBe(true);
      expect(serve({}, { 'no-hub': true }).useHub).toBe(false);
      expect(serve({ MESHFLEET_NO_HUB: '1' }).useHub).toBe(false);
      expect(serve({ MESHFLEET_NO_HUB: 'true' }).useHub).toBe(false);
      expect(serve({ MESHFLEET_NO_HUB: '0' }).useHub).toBe(true);
      expect(serve({ MESHFLEET_NO_HUB: '' }).useHub).toBe(true);
      expect(refusal(() => serve({ MESHFLEET_NO_HUB: 'maybe' }))).toBe('MESHFLEET_NO_HUB must be 1 (yes) or 0 (no), not "maybe".');
    });

    it('checks the idle period in serve too, which hands it to a hub nobody watches', () => {
      expect(serve().hubIdleMs).toBe(300_000);
      expect(serve({ MESHFLEET_HUB_IDLE_MS: '1500' }).hubIdleMs).toBe(1_500);
      expect(refusal(() => serve({ MESHFLEET_HUB_IDLE_MS: '5m' }))).toBe('MESHFLEET_HUB_IDLE_MS must be a whole number of milliseconds from 0 to 2147483647, not "5m".');
      // Without a hub, the variable is none of this server's business.
      expect(serve({ MESHFLEET_HUB_IDLE_MS: '5m', MESHFLEET_NO_HUB: '1' }).useHub).toBe(false);
      expect(config({ MESHFLEET_HUB_IDLE_MS: '1500', MESHFLEET_NO_HUB: '1' }).hub({}).hubIdleMs).toBe(1_500);
    });

    it('listens on 127.0.0.1 and a free port unless --listen names another', () => {
      expect(config().hub({}).listen).toEqual({ host: '127.0.0.1', port: 0 });
      expect(config().hub({ listen: '0.0.0.0:8765' }).listen).toEqual({ host: '0.0.0.0', port: 8765 });
      expect(config().hub({ listen: '[::1]:9000' }).listen).toEqual({ host: '::1', port: 9000 });
      for (const bad of ['8765', 'localhost:', 'host:65536', 'a b:1', ':80', 'host:-1']) {
        expect(refusal(() => config().hub({ listen: bad }))).toBe(`--listen must be host:port (such as 127.0.0.1:8765; port 0 picks a free one), not ${JSON.stringify(bad)}.`);
      }
    });
  });

  describe('MESHFLEET_SSE_PORT', () => {
    it('is a port number', () => {
      expect(serve({ MESHFLEET_SSE_PORT: '8123' }).ssePort).toBe(8123);
      expect(serve({ MESHFLEET_SSE_PORT: '1' }).ssePort).toBe(1);
      expect(serve({ MESHFLEET_SSE_PORT: '65535' }).ssePort).toBe(65_535);
    });

    it.each(['abc', '0', '65536', '80.5', '-1', '0x50', '1e3', ' '])('refuses %j', (text) => {
      expect(refusal(() => serve({ MESHFLEET_SSE_PORT: text }))).toBe(`MESHFLEET_SSE_PORT must be a port number (1-65535), not ${JSON.stringify(text)}.`);
    });

    it('quotes at most 100 characters of a long value, on one line', () => {
      const message = refusal(() => serve({ MESHFLEET_SSE_PORT: `8080\n${'9'.repeat(300)}` }));
      expect(message).toBe(`MESHFLEET_SSE_PORT must be a port number (1-65535), not "8080\\n${'9'.repeat(95)}"… (305 characters).`);
    });
  });

  describe('MESHFLEET_RETRY_BASE_MS', () => {
    it('is a whole number of milliseconds up to an hour', () => {
      expect(serve({ MESHFLEET_RETRY_BASE_MS: '0' }).retryBaseMs).toBe(0);
      expect(serve({ MESHFLEET_RETRY_BASE_MS: '250' }).retryBaseMs).toBe(250);
      expect(serve({ MESHFLEET_RETRY_BASE_MS: '3600000' }).retryBaseMs).toBe(3_600_000);
    });

    it.each(['1.5', '-1', '3600001', '1e3', 'soon'])('refuses %j', (text) => {
      expect(refusal(() => serve({ MESHFLEET_RETRY_BASE_MS: text })))
        .toBe(`MESHFLEET_RETRY_BASE_MS must be a whole number of milliseconds from 0 to 3600000, not ${JSON.stringify(text)}.`);
    });
  });

  describe('MESHFLEET_AGENT_TIMEOUT_MS', () => {
    it('is a whole number of milliseconds a timer can wait', () => {
      expect(serve({ MESHFLEET_AGENT_TIMEOUT_MS: '1' }).agentTimeoutMs).toBe(1);
      expect(serve({ MESHFLEET_AGENT_TIMEOUT_MS: '600000' }).agentTimeoutMs).toBe(600_000);
      expect(serve({ MESHFLEET_AGENT_TIMEOUT_MS: '2147483647' }).agentTimeoutMs).toBe(2_147_483_647);
    });

    it.each(['0', '2147483648', '30m', '-5'])('refuses %j', (text) => {
      expect(refusal(() => serve({ MESHFLEET_AGENT_TIMEOUT_MS: text })))
        .toBe(`MESHFLEET_AGENT_TIMEOUT_MS must be a whole number of milliseconds from 1 to 2147483647, not ${JSON.stringify(text)}.`);
    });
  });

  describe('MESHFLEET_AUTH_TOKEN', () => {
    it('is the operator\'s bearer token', () => {
      expect(serve({ MESHFLEET_AUTH_TOKEN: 'x7-Secret_token.~' }).authToken).toBe('x7-Secret_token.~');
    });

    it.each(['two words', 'tab\there', 'naïve'])('refuses %j, which no Authorization header could carry, without repeating it', (token) => {
      const message = refusal(() => serve({ MESHFLEET_AUTH_TOKEN: token }));
      expect(message).toBe(`MESHFLEET_AUTH_TOKEN must be printable ASCII without spaces (clients send it as "Authorization: Bearer <token>"); `
        + `the value set (${token.length} characters, not shown: it is a secret) is not.`);
    });
  });

  describe('MESHFLEET_AGENT_ID and MESHFLEET_AGENT_TOKEN', () => {
    it('make the server act as that agent (checked against the database when it opens)', () => {
      expect(serve({ MESHFLEET_AGENT_ID: 'agent-1', MESHFLEET_AGENT_TOKEN: 'tok' })).toMatchObject({ agentId: 'agent-1', agentToken: 'tok' });
    });
  });

  it('pass the whole environment on to agents, as it was when read', () => {
    const env: NodeJS.ProcessEnv = { HOME, PATH: '/usr/bin', MESHFLEET_AUTH_TOKEN: 'operator' };
    const c = readConfig({ env, cwd: CWD });
    env.PATH = '/changed';
    env.LATE = 'set after reading';
    const { inheritedEnv, authToken } = c.serve({});
    // launchFor drops the tokens that are not the agent's; the config hands over what it was given.
    expect(inheritedEnv).toEqual({ HOME, PATH: '/usr/bin', MESHFLEET_AUTH_TOKEN: 'operator' });
    expect(authToken).toBe('operator');
    expect(Object.isFrozen(inheritedEnv)).toBe(true);
  });

  it('check only what serve uses: other commands do not stop on a bad serve variable', () => {
    const c = config({ MESHFLEET_SSE_PORT: 'abc', MESHFLEET_DB: '/data/mesh.db' });
    expect(c.database().path).toBe('/data/mesh.db');
    expect(() => c.serve({})).toThrow(ConfigError);
  });
});

describe('an agent\'s environment', () => {
  it('says who the agent is, as launchFor set it', () => {
    const given = readAgentEnvironment({ MESHFLEET_AGENT_ID: 'a1', MESHFLEET_FLEET_ID: 'f1', MESHFLEET_ROLE: 'coder',
      MESHFLEET_PROMPT: 'write tests', MESHFLEET_AGENT_TOKEN: 't', PATH: '/bin' });
    expect(given).toEqual({ agentId: 'a1', fleetId: 'f1', role: 'coder', prompt: 'write tests', agentToken: 't', hasOperatorToken: false,
      inheritedEnv: { MESHFLEET_AGENT_ID: 'a1', MESHFLEET_FLEET_ID: 'f1', MESHFLEET_ROLE: 'coder', MESHFLEET_PROMPT: 'write tests', MESHFLEET_AGENT_TOKEN: 't', PATH: '/bin' } });
  });

  it('has defaults outside a fleet, and notices an operator token that leaked in', () => {
    expect(readAgentEnvironment({ MESHFLEET_AUTH_TOKEN: '' })).toMatchObject({ agentId: undefined, role: 'agent', prompt: '', agentToken: undefined, hasOperatorToken: true });
  });
});
