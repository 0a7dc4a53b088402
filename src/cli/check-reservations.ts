import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MeshError } from '../mesh/errors.js';
import { getAgent } from '../mesh/fleets.js';
import { blockedPaths, type Blocked } from '../mesh/reservations.js';
import { openUnchanged } from '../store/open.js';
import { UsageError, type Command } from './command.js';

export const checkReservationsCommand: Command = {
  name: 'check-reservations',
  summary: 'Exit 1 when given (or staged) files are reserved exclusively by another agent: for a git pre-commit hook',
  usage: 'meshfleet check-reservations [--staged] [PATH...] [--agent ID] [--fleet ID] [--json] [--db PATH]\n\n'
    + 'Checks each path (relative to the repository root; --staged: the files staged in the git\n'
    + 'repository of the current folder, deletions and both sides of renames included) against the\n'
    + 'live exclusive file reservations of other agents. The agent is --agent, else MESHFLEET_AGENT_ID\n'
    + '(an agent\'s hook has it); its fleet is --fleet, else MESHFLEET_FLEET_ID, else the agent\'s own;\n'
    + 'with neither, every fleet\'s reservations count. Exit 0: none reserved; 1: some are (each is\n'
    + 'printed with its holder, pattern, reason and expiry). Reads the database, never writes it.',
  run(args, ctx) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        staged: { type: 'boolean', default: false },
        agent: { type: 'string' },
        fleet: { type: 'string' },
        json: { type: 'boolean', default: false },
        db: { type: 'string' },
      },
    });
    if (!values.staged && positionals.length === 0) throw new UsageError('check-reservations needs paths, or --staged for the files staged in git.');
    const paths = [...positionals, ...(values.staged ? stagedPaths(ctx.config.cwd) : [])].map((p) => p.replace(/^\.\//, ''));
    const dbPath = ctx.config.database(values.db).path;
    if (!existsSync(dbPath)) {
      throw new MeshError('not_found', `No database at ${dbPath}; no reservations to check.`, 'Pass --db PATH, or set MESHFLEET_DB, to the database the agents use.');
    }
    const store = openUnchanged(dbPath);
    try {
      const agentId = values.agent ?? ctx.config.agentIdentity.agentId;
      const fleetId = values.fleet ?? ctx.config.agentIdentity.fleetId ?? (agentId === undefined ? undefined : getAgent(store, agentId)?.fleetId);
      const blocked = paths.length === 0 ? [] : blockedPaths(store, paths, { fleetId, agentId });
      if (values.json) {
        ctx.stdout.write(`${JSON.stringify({ checked: paths.length, agent_id: agentId ?? null, fleet_id: fleetId ?? null, blocked: blocked.map(blockedJson) }, null, 2)}\n`);
      } else if (blocked.length === 0) {
        ctx.stdout.write(`ok: none of ${paths.length} path${paths.length === 1 ? '' : 's'} is reserved by another agent.\n`);
      } else {
        ctx.stderr.write(`${blocked.map(describeBlocked).join('\n')}\n`
          + 'Ask the holder (send_message) or wait for the reservation to end; the operator can release it (release_reservations).\n');
      }
      return blocked.length === 0 ? 0 : 1;
    } finally {
      store.close();
    }
  },
};

const blockedJson = ({ path, holder }: Blocked) => ({
  path, pattern: holder.pattern, agent_id: holder.agentId, fleet_id: holder.fleetId, reservation_id: holder.id,
  reason: holder.reason, expires_at: holder.expiresAt,
});

function describeBlocked({ path, holder }: Blocked): string {
  const reason = holder.reason === '' ? '' : ` ("${holder.reason}")`;
  return `${path}: reserved exclusively by agent ${holder.agentId} of fleet ${holder.fleetId} as ${holder.pattern}${reason} until ${new Date(holder.expiresAt).toISOString()}`;
}

/** The files staged in the repository around `cwd`, relative to its root; renames as both paths. */
function stagedPaths(cwd: string): string[] {
  let out: string;
  try {
    out = execFileSync('git', ['diff', '--cached', '--name-only', '--no-renames', '-z'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const said = String((err as { stderr?: unknown }).stderr ?? (err as Error).message).trim().split('\n')[0];
    throw new MeshError('invalid', `--staged needs a git repository, and git said: ${said}`, 'Run it inside the repository (a pre-commit hook does), or pass the paths.');
  }
  return out.split('\0').filter((p) => p !== '');
}
