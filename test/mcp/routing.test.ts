import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/store/migrator.js';
import { rawDatabase } from '../helpers/database.js';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
let fleet_id: string, frontend: string, backend: string, writer: string;
beforeEach(async () => {
  h = await startHarness();
  ({ fleet_id, agent_ids: [frontend, backend, writer] } = await h.ok('spawn_fleet', {
    agents: [{ role: 'frontend', prompt: 'ui' }, { role: 'backend', prompt: 'api' }, { role: 'writer', prompt: 'docs' }],
  }));
  await h.ok('register_capability', { agent_id: frontend, fleet_id, role: 'frontend', skills: ['react', 'css'], model: 'sonnet', context_window: 200_000 });
  await h.ok('register_capability', { agent_id: backend, fleet_id, role: 'backend', skills: ['node', 'postgres', 'api'] });
  await h.ok('register_capability', { agent_id: writer, fleet_id, role: 'writer', skills: ['docs', 'react'] });
});
afterEach(() => h.close());

describe('register_capability', () => {
  it('keeps every argument (the old server lost them over MCP)', () => {
    expect(rawDatabase(h.store.path).row('SELECT agent_id, fleet_id, role, model, context_window FROM capabilities WHERE agent_id = ?', frontend))
      .toEqual({ agent_id: frontend, fleet_id, role: 'frontend', model: 'sonnet', context_window: 200_000 });
    expect(rawDatabase(h.store.path).values('SELECT skill FROM capability_skills WHERE agent_id = ? ORDER BY position', frontend)).toEqual(['react', 'css']);
  });

  it('refuses an agent of another fleet, or an unknown one', async () => {
    const { fleet_id: other } = await h.ok('spawn_fleet', { agents: [{ role: 'x', prompt: 'y' }] });
    expect(await h.fails('register_capability', { agent_id: frontend, fleet_id: other, role: 'r', skills: [] })).toMatch(/belongs to fleet .*Register it with fleet_id/);
    expect(await h.fails('register_capability', { agent_id: 'agent-nope', fleet_id, role: 'r', skills: [] })).toMatch(/No agent "agent-nope"/);
  });
});

describe('ping and get_health', () => {
  it('ping answers ok with a timestamp', async () => {
    expect(await h.ok('ping')).toEqual({ status: 'ok', timestamp: expect.any(Number) });
  });

  it('get_health counts what the database holds', async () => {
    await h.ok('send_message', { fleet_id, from_agent_id: frontend, to_agent_id: '*', type: 'alert', payload: 'deploying' });
    const health = await h.ok('get_health');
    expect(health).toMatchObject({
      status: 'ok', version: '0.0.0-test',
      database: { path: h.dbPath, schema_version: loadMigrations().length },
      counts: { fleets: 1, agents: 3, messages: 1, pending_deliveries: 2, templates: 0 },
    });
    expect(health.uptime_ms).toBeGreaterThanOrEqual(0);
  });
});
