// What an attempt's end is taken from (the agent's exit, not its pipes closing) and what is kept
// of its output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_CAPTURE_BYTES } from '../../src/runtime/supervisor.js';
import { isAlive } from '../../src/runtime/processes.js';
import { fleetEvents, RuntimeFixtures, settled } from '../helpers/runtime.js';

const fixtures = new RuntimeFixtures();
afterEach(() => fixtures.endAll());

describe('an agent that exits 0 while a child it started still holds its output', () => {
  it('is complete with its output while the child lives on, with no retry', async () => {
    const h = await fixtures.harness();
    const pidFile = join(h.dir, 'grandchild.pid');
    let grandchild: number | undefined;
    fixtures.later(() => {
      if (grandchild !== undefined && isAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    });
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'host', prompt: `leave-child:${pidFile}` }] });
    const status = await settled(h, fleet_id);
    grandchild = Number(readFileSync(pidFile, 'utf8'));
    // The child holds the pipes for 20 s: the end came from the agent's exit, not from their closing.
    expect(isAlive(grandchild)).toBe(true);
    expect(status.fleet.status).toBe('complete');
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'complete', attempts: 1, error: null, output: 'host: done, a child still holds my output\n' });
    expect(fleetEvents(h, fleet_id).filter((e) => e.agent_id === agent).map((e) => e.kind))
      .toEqual(['agent_spawned', 'agent_started', 'agent_finished']);
  });
});

describe('output', () => {
  it('over 64 KiB is cut to its last 64 KiB, and says how much was cut', async () => {
    const h = await fixtures.harness();
    const bytes = 200_000;
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'chatty', prompt: `print:${bytes}` }] });
    const status = await settled(h, fleet_id);
    expect(status.agents[0].status).toBe('complete');
    const { results } = await h.ok('collect_results', { fleet_id });
    const output: string = results[0].output;
    const marker = `[first ${bytes - MAX_CAPTURE_BYTES} bytes cut]\n`;
    expect(output.startsWith(marker)).toBe(true);
    expect(output.slice(marker.length)).toBe(`${'.'.repeat(MAX_CAPTURE_BYTES - 10)}0123456789`);
  });

  it('of exactly 64 KiB is kept whole, with no marker', async () => {
    const h = await fixtures.harness();
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'brief', prompt: `print:${MAX_CAPTURE_BYTES}` }] });
    await settled(h, fleet_id);
    const { results } = await h.ok('collect_results', { fleet_id });
    expect(results[0].output).toBe(`${'.'.repeat(MAX_CAPTURE_BYTES - 10)}0123456789`);
  });
});

