import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MeshError } from '../mesh/errors.js';
import type { Agent } from '../mesh/fleets.js';
import { listWorkspaces } from '../mesh/workspaces.js';
import { reportWorkspace, retireSettledWorkspaces, type WorkspaceReport } from '../runtime/workspaces.js';
import { openStore } from '../store/open.js';
import { UsageError, type Command } from './command.js';

export const workspacesCommand: Command = {
  name: 'workspaces',
  summary: 'List agents\' git worktrees (branch, state, uncommitted changes); --prune removes those of settled fleets with nothing uncommitted',
  usage: 'meshfleet workspaces [--prune] [--json] [--db PATH]\n\n'
    + 'Lists every agent that was given its own worktree (spawn_fleet with workspace: "worktree"),\n'
    + 'newest first: fleet, agent, state (active, removed, kept), branch, folder, and what is\n'
    + 'uncommitted there. --prune does now what a running server does after a fleet settles:\n'
    + 'removes each settled fleet\'s worktrees that hold no uncommitted changes (branches and their\n'
    + 'commits stay) and keeps the others, saying where they are.',
  async run(args, ctx) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
      prune: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, db: { type: 'string' },
    } });
    if (positionals.length > 0) throw new UsageError(`workspaces takes no arguments; got '${positionals[0]}'.`);
    const dbPath = ctx.config.database(values.db).path;
    if (!existsSync(dbPath)) throw new MeshError('not_found', `No database at ${dbPath}.`, 'Pass --db PATH, or set MESHFLEET_DB, to the database the fleets use.');
    const store = openStore(dbPath);
    try {
      const retired = values.prune ? await retireSettledWorkspaces(store) : 0;
      const rows: { agent: Agent; report: WorkspaceReport }[] = [];
      for (const agent of listWorkspaces(store)) rows.push({ agent, report: await reportWorkspace(agent.workspace!) });
      if (values.json) {
        ctx.stdout.write(`${JSON.stringify({ retired, workspaces: rows.map(({ agent, report }) => ({ fleet_id: agent.fleetId, agent_id: agent.id, role: agent.role, ...report })) }, null, 2)}\n`);
        return 0;
      }
      const lines = rows.map(({ agent, report }) => describe(agent, report));
      if (values.prune) lines.unshift(`Retired ${retired} worktree${retired === 1 ? '' : 's'} of settled fleets.`);
      ctx.stdout.write(`${lines.length === 0 ? 'No agent has a worktree of its own.' : lines.join('\n')}\n`);
      return 0;
    } finally {
      store.close();
    }
  },
};

function describe(agent: Agent, report: WorkspaceReport): string {
  const changes = report.uncommitted.length === 0 ? '' : `; ${report.uncommitted.length} uncommitted change${report.uncommitted.length === 1 ? '' : 's'}`;
  const commits = `${report.commits.length} commit${report.commits.length === 1 ? '' : 's'}`;
  const where = report.state === 'removed' ? '' : ` at ${report.path}`;
  return `${agent.fleetId} ${agent.id} (${agent.role}): ${report.state}, ${report.branch}, ${commits}${changes}${where}${report.error === undefined ? '' : ` (${report.error})`}`;
}
