import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { quote } from './mesh/limits.js';
import { RUNTIMES, type RuntimeName } from './runtime/adapters.js';
import type { Durability } from './store/open.js';

/**
 * An environment variable or flag with a value Meshfleet cannot use. The message is one line:
 * the name, the value as given (quoted, shortened) and what it must be. The CLI exits 2 on it.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** What a process is handed by the world it starts in; only the CLI's entry point reads it from `process`. */
export interface Surroundings {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface DbLocation {
  path: string;
  /** ~/.meshfleet/mesh.db, whose folder Meshfleet may create (a typed path with a missing folder is more likely a typo). */
  isDefault: boolean;
}

/** `meshfleet serve`'s flags, as parseArgs gives them. */
export interface ServeFlags {
  db?: string;
  runtime?: string;
  durability?: string;
  /** --no-hub: this server starts and owns its agents itself, as before hubs. */
  'no-hub'?: boolean;
}

/** `meshfleet hub`'s flags. */
export interface HubFlags {
  db?: string;
  runtime?: string;
  durability?: string;
  listen?: string;
}

/** Where the hub's HTTP endpoint listens; port 0 picks a free port. */
export interface ListenAddress {
  host: string;
  port: number;
}

export interface ServeConfig {
  db: DbLocation;
  /** --durability: synchronous=NORMAL or FULL. */
  durability: Durability;
  /** --runtime, else MESHFLEET_RUNTIME, else opencode. */
  runtime: RuntimeName;
  /** MESHFLEET_AGENT_COMMAND; always set for the command runtime. */
  agentCommand: string | undefined;
  /** MESHFLEET_SSE_PORT; a free port when unset. */
  ssePort: number | undefined;
  /** MESHFLEET_AUTH_TOKEN: the operator's bearer token for inbox streams. */
  authToken: string | undefined;
  /** MESHFLEET_RETRY_BASE_MS; the supervisor's default when unset. */
  retryBaseMs: number | undefined;
  /** MESHFLEET_AGENT_TIMEOUT_MS; the supervisor's default when unset. */
  agentTimeoutMs: number | undefined;
  /** MESHFLEET_AGENT_ID: the server acts as that agent only. */
  agentId: string | undefined;
  /** MESHFLEET_AGENT_TOKEN: proves it runs for that agent. */
  agentToken: string | undefined;
  /** The folder serve started in: project-level premade agents are looked up there. */
  projectDir: string;
  homeDir: string;
  /**
   * The environment agents inherit (launchFor adds their identity and drops the tokens that are
   * not theirs). A copy taken when the config was read.
   */
  inheritedEnv: Readonly<NodeJS.ProcessEnv>;
  /**
   * Whether agents go to the database's hub (the default) or are this server's own children
   * (--no-hub, or MESHFLEET_NO_HUB=1).
   */
  useHub: boolean;
  /**
   * MESHFLEET_HUB_IDLE_MS, checked by serve too when it uses a hub: a hub it starts detached would
   * otherwise fail where nobody sees it, and the agents would never start.
   */
  hubIdleMs: number;
}

export interface HubConfig extends ServeConfig {
  /** --listen host:port; 127.0.0.1 and a free port by default. */
  listen: ListenAddress;
  /** MESHFLEET_PUBLIC_URL: the hub's address as clients reach it (a TLS proxy's), for the URLs it hands out. */
  publicUrl: string | undefined;
}

/** How long a hub waits, idle, before it exits: long enough to outlive a pause between two fleets. */
export const DEFAULT_HUB_IDLE_MS = 5 * 60_000;

/** The environment and flags, read once. Each command validates only what it uses: a stray MESHFLEET_SSE_PORT must not stop `migrate`. */
export interface Config {
  readonly cwd: string;
  /** HOME, else the operating system's idea of it. */
  readonly homeDir: string;
  /** --db, else MESHFLEET_DB, else ~/.meshfleet/mesh.db. */
  database(flag?: string): DbLocation;
  /** The old server's ledger: AGENT_MESH_DATA_FILE, else ~/.config/opencode/agent-mesh.json. */
  readonly legacyLedgerPath: string;
  /** The folders of PATH, in order, where commands such as opencode and meshfleet itself are found. */
  readonly searchPath: readonly string[];
  /** MESHFLEET_AGENT_ID and MESHFLEET_FLEET_ID, as an agent process has them (for its git hooks). */
  readonly agentIdentity: { agentId: string | undefined; fleetId: string | undefined };
  /** NO_COLOR set and not empty (no-color.org): people's views print no colour, even on a terminal. */
  readonly noColor: boolean;
  serve(flags: ServeFlags): ServeConfig;
  hub(flags: HubFlags): HubConfig;
  /**
   * The environment for a `meshfleet` child that must take its settings from its parent alone
   * (`meshfleet demo`'s server): every MESHFLEET_* variable dropped, so neither the user's
   * database nor an agent identity the shell happens to carry reaches it.
   */
  plainChildEnv(): NodeJS.ProcessEnv;
  /** Where throwaway files go: TMPDIR, else the operating system's temp folder. */
  readonly tempDir: string;
}

/** First retry delay: an hour is already more patience than a fleet has; more would overflow timers at the last attempt. */
export const MAX_RETRY_BASE_MS = 3_600_000;
/** The longest delay a Node timer can wait (about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

export function readConfig({ env, cwd }: Surroundings): Config {
  // A copy: later changes to the process's environment do not change the configuration.
  const given: NodeJS.ProcessEnv = { ...env };
  const homeDir = set(given.HOME) ?? homedir();
  const database = (flag?: string): DbLocation => {
    if (flag !== undefined && flag.trim() === '') throw new ConfigError(`--db must be the path of a database file, not ${quote(flag)}.`);
    const chosen = flag ?? set(given.MESHFLEET_DB);
    return chosen === undefined
      ? { path: join(homeDir, '.meshfleet', 'mesh.db'), isDefault: true }
      : { path: resolve(cwd, chosen), isDefault: false };
  };
  const serve = (flags: ServeFlags): ServeConfig => {
    const runtime = readRuntime(flags.runtime, given.MESHFLEET_RUNTIME);
    const useHub = !(flags['no-hub'] === true || readSwitch('MESHFLEET_NO_HUB', given.MESHFLEET_NO_HUB));
    return {
      durability: readDurability(flags.durability),
      runtime: runtime.name,
      agentCommand: readAgentCommand(runtime, given.MESHFLEET_AGENT_COMMAND),
      ssePort: readPort('MESHFLEET_SSE_PORT', given.MESHFLEET_SSE_PORT),
      authToken: readBearerToken('MESHFLEET_AUTH_TOKEN', given.MESHFLEET_AUTH_TOKEN),
      retryBaseMs: readMs('MESHFLEET_RETRY_BASE_MS', given.MESHFLEET_RETRY_BASE_MS, 0, MAX_RETRY_BASE_MS),
      // 0 would stop every agent at its first check; "no timeout" is a very large number.
      agentTimeoutMs: readMs('MESHFLEET_AGENT_TIMEOUT_MS', given.MESHFLEET_AGENT_TIMEOUT_MS, 1, MAX_TIMER_MS),
      agentId: set(given.MESHFLEET_AGENT_ID),
      agentToken: set(given.MESHFLEET_AGENT_TOKEN),
      db: database(flags.db),
      projectDir: cwd,
      homeDir,
      inheritedEnv: Object.freeze({ ...given }),
      useHub,
      // The hub exits after this long with no agents to run and no connections.
      hubIdleMs: (useHub ? readMs('MESHFLEET_HUB_IDLE_MS', given.MESHFLEET_HUB_IDLE_MS, 0, MAX_TIMER_MS) : undefined) ?? DEFAULT_HUB_IDLE_MS,
    };
  };
  return {
    cwd,
    homeDir,
    database,
    tempDir: set(given.TMPDIR) ?? tmpdir(),
    plainChildEnv: () => Object.fromEntries(Object.entries(given).filter(([name]) => !name.startsWith('MESHFLEET_'))),
    legacyLedgerPath: resolve(cwd, set(given.AGENT_MESH_DATA_FILE) ?? join(homeDir, '.config', 'opencode', 'agent-mesh.json')),
    searchPath: (given.PATH ?? '').split(delimiter).filter((dir) => dir !== '').map((dir) => resolve(cwd, dir)),
    agentIdentity: { agentId: set(given.MESHFLEET_AGENT_ID), fleetId: set(given.MESHFLEET_FLEET_ID) },
    noColor: (given.NO_COLOR ?? '') !== '',
    serve,
    hub: (flags) => ({
      // A hub is the hub: MESHFLEET_NO_HUB, meant for servers, does not stop it.
      ...serve({ db: flags.db, runtime: flags.runtime, durability: flags.durability }),
      listen: readListen(flags.listen),
      publicUrl: readPublicUrl(given.MESHFLEET_PUBLIC_URL),
      hubIdleMs: readMs('MESHFLEET_HUB_IDLE_MS', given.MESHFLEET_HUB_IDLE_MS, 0, MAX_TIMER_MS) ?? DEFAULT_HUB_IDLE_MS,
    }),
  };
}

/** What the server that started an agent told it (src/runtime/adapters.ts launchFor), for agent programs such as the test agent. */
export interface AgentEnvironment {
  agentId: string | undefined;
  fleetId: string | undefined;
  role: string;
  prompt: string;
  agentToken: string | undefined;
  /** Whether the operator's MESHFLEET_AUTH_TOKEN reached the agent (it must not). */
  hasOperatorToken: boolean;
  /** Passed on to the agent's own `meshfleet serve`, which then acts as this agent. */
  inheritedEnv: Readonly<NodeJS.ProcessEnv>;
}

export function readAgentEnvironment(env: NodeJS.ProcessEnv): AgentEnvironment {
  return {
    agentId: set(env.MESHFLEET_AGENT_ID),
    fleetId: set(env.MESHFLEET_FLEET_ID),
    role: env.MESHFLEET_ROLE ?? 'agent',
    prompt: env.MESHFLEET_PROMPT ?? '',
    agentToken: env.MESHFLEET_AGENT_TOKEN,
    hasOperatorToken: env.MESHFLEET_AUTH_TOKEN !== undefined,
    inheritedEnv: Object.freeze({ ...env }),
  };
}

/** An empty variable counts as unset, as in a shell's `VAR= meshfleet serve`. */
const set = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

const WHOLE_NUMBER = /^\s*\d+\s*$/;
const oneOf = (names: readonly string[]): string => `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;

interface RuntimeChoice { name: RuntimeName; source: string }

function readRuntime(flag: string | undefined, variable: string | undefined): RuntimeChoice {
  const [source, text] = flag !== undefined ? ['--runtime', flag] : ['MESHFLEET_RUNTIME', set(variable)];
  if (text === undefined) return { name: 'opencode', source: 'the default runtime' };
  if (!(RUNTIMES as readonly string[]).includes(text)) throw new ConfigError(`${source} must be ${oneOf(RUNTIMES)}, not ${quote(text)}.`);
  return { name: text as RuntimeName, source };
}

function readAgentCommand(runtime: RuntimeChoice, variable: string | undefined): string | undefined {
  const command = set(variable);
  if (runtime.name !== 'command') return command;
  if (command === undefined || command.trim() === '') {
    const chosen = runtime.source === '--runtime' ? '--runtime command' : 'MESHFLEET_RUNTIME=command';
    throw new ConfigError(`${chosen} needs MESHFLEET_AGENT_COMMAND, the command line to run for each agent (such as "node my-agent.js"); it is ${command === undefined ? 'not set' : `blank (${quote(command)})`}.`);
  }
  return command;
}

/** A yes/no variable: 1, true or yes; 0, false, no or empty for no. */
function readSwitch(name: string, variable: string | undefined): boolean {
  const text = set(variable)?.trim().toLowerCase();
  if (text === undefined || ['0', 'false', 'no'].includes(text)) return false;
  if (['1', 'true', 'yes'].includes(text)) return true;
  throw new ConfigError(`${name} must be 1 (yes) or 0 (no), not ${quote(variable!)}.`);
}

/**
 * --listen host:port. Loopback unless the user names another address: the endpoint answers
 * tools with a bearer token, and anything past this machine belongs behind TLS.
 */
function readListen(flag: string | undefined): ListenAddress {
  if (flag === undefined) return { host: '127.0.0.1', port: 0 };
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(flag.trim());
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || !(port >= 0 && port <= 65_535)) {
    throw new ConfigError(`--listen must be host:port (such as 127.0.0.1:8765; port 0 picks a free one), not ${quote(flag)}.`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function readDurability(flag: string | undefined): Durability {
  if (flag === undefined || flag === 'normal' || flag === 'full') return flag ?? 'normal';
  throw new ConfigError(`--durability must be normal or full, not ${quote(flag)}.`);
}

function readPort(name: string, variable: string | undefined): number | undefined {
  const text = set(variable);
  if (text === undefined) return undefined;
  const port = WHOLE_NUMBER.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65_535)) throw new ConfigError(`${name} must be a port number (1-65535), not ${quote(text)}.`);
  return port;
}

function readMs(name: string, variable: string | undefined, min: number, max: number): number | undefined {
  const text = set(variable);
  if (text === undefined) return undefined;
  const ms = WHOLE_NUMBER.test(text) ? Number(text) : NaN;
  if (!(ms >= min && ms <= max)) throw new ConfigError(`${name} must be a whole number of milliseconds from ${min} to ${max}, not ${quote(text)}.`);
  return ms;
}

/**
 * A token clients send as `Authorization: Bearer <token>`: a header carries one word of printable
 * ASCII, so any other token could never be matched. The value is a secret: the error says what is
 * wrong with it, and does not repeat it.
 */
function readBearerToken(name: string, variable: string | undefined): string | undefined {
  const token = set(variable);
  if (token === undefined) return undefined;
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(`${name} must be printable ASCII without spaces (clients send it as "Authorization: Bearer <token>"); `
      + `the value set (${token.length} characters, not shown: it is a secret) is not.`);
  }
  return token;
}

/** MESHFLEET_PUBLIC_URL: the hub's address as clients reach it (a TLS reverse proxy's), given to remote agents. */
export function readPublicUrl(text: string | undefined): string | undefined {
  const given = set(text);
  if (given === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(given);
  } catch {
    url = undefined;
  }
  if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '') {
    throw new ConfigError(`MESHFLEET_PUBLIC_URL must be an http:// or https:// URL without a query, such as https://mesh.example.com; not ${quote(given)}.`);
  }
  return given.replace(/\/+$/, '');
}
