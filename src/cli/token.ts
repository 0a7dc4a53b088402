import { parseArgs } from 'node:util';
import { createOperatorToken, listOperatorTokens, revokeOperatorToken, type OperatorToken } from '../mesh/operator-tokens.js';
import { openStore } from '../store/open.js';
import { UsageError, type Command } from './command.js';

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Create, list and revoke operator tokens for the hub\'s HTTP endpoint',
  usage: 'meshfleet token create --operator [--name NAME] [--db PATH]\n'
    + '       meshfleet token list [--json] [--db PATH]\n'
    + '       meshfleet token revoke ID [--db PATH]\n\n'
    + 'An operator token opens the hub\'s /mcp as the operator: every tool, every fleet. create prints\n'
    + 'it once (only its SHA-256 is stored); give it to the MCP client as "Authorization: Bearer <token>".\n'
    + 'revoke takes effect at the next request. Agents get their own tokens from spawn and attach_agent.',
  run(args, ctx) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        operator: { type: 'boolean', default: false },
        name: { type: 'string' },
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const [action, ...rest] = positionals;
    const db = ctx.config.database(values.db);
    const open = () => openStore(db.path, { createParentDir: db.isDefault });
    if (action === 'create') {
      if (rest.length > 0) throw new UsageError(`token create takes no arguments; got '${rest[0]}'.`);
      if (!values.operator) throw new UsageError('token create needs --operator (the only kind made here; agents get theirs when they are spawned or attached).');
      const store = open();
      try {
        const { id, token } = createOperatorToken(store, values.name);
        ctx.stdout.write(values.json
          ? `${JSON.stringify({ id, name: values.name ?? null, token })}\n`
          : `${token}\n`);
        ctx.stderr.write(`meshfleet: operator token ${id} created for ${db.path}. It is shown only this once; revoke it with \`meshfleet token revoke ${id}\`.\n`);
        return 0;
      } finally {
        store.close();
      }
    }
    if (values.operator || values.name !== undefined) throw new UsageError('--operator and --name go with token create.');
    if (action === 'list') {
      if (rest.length > 0) throw new UsageError(`token list takes no arguments; got '${rest[0]}'.`);
      const store = open();
      try {
        const tokens = listOperatorTokens(store);
        ctx.stdout.write(values.json ? `${JSON.stringify({ tokens: tokens.map(tokenJson) }, null, 2)}\n` : formatTokens(tokens));
        return 0;
      } finally {
        store.close();
      }
    }
    if (action === 'revoke') {
      const [idText, extra] = rest;
      if (idText === undefined || extra !== undefined || !/^\d{1,15}$/.test(idText)) {
        throw new UsageError(`token revoke takes one token id (a number from 'meshfleet token list')${idText === undefined ? '' : `, not '${rest.join(' ')}'`}.`);
      }
      const store = open();
      try {
        const { alreadyRevoked } = revokeOperatorToken(store, Number(idText));
        ctx.stdout.write(alreadyRevoked ? `Operator token ${idText} was already revoked.\n` : `Operator token ${idText} revoked; requests with it now get 401.\n`);
        return 0;
      } finally {
        store.close();
      }
    }
    throw new UsageError(action === undefined ? 'token needs an action: create, list or revoke.' : `token has no action '${action}'; use create, list or revoke.`);
  },
};

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const tokenJson = (t: OperatorToken) => ({
  id: t.id, name: t.name, created_at: iso(t.createdAt), last_used_at: iso(t.lastUsedAt), revoked_at: iso(t.revokedAt),
});

function formatTokens(tokens: OperatorToken[]): string {
  if (tokens.length === 0) return 'No operator tokens. Create one with `meshfleet token create --operator --name NAME`.\n';
  const rows = tokens.map((t) => [String(t.id), t.name ?? '-', iso(t.createdAt)!, iso(t.lastUsedAt) ?? 'never', t.revokedAt === null ? 'active' : `revoked ${iso(t.revokedAt)}`]);
  const header = ['ID', 'NAME', 'CREATED', 'LAST USED', 'STATE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
