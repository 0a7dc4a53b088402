// The error boundary's last case: an exception nobody planned for. The caller gets a sentence to
// act on; the stack, which may hold paths and internals, goes to the server's log on stderr.
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toolResult } from '../../src/mcp/result.js';
import { startHarness, type Harness } from '../helpers/mesh.js';

const INTERNAL = /^Meshfleet hit an internal error \(details in its log on stderr\); nothing was changed\. Retry once; if it repeats, report it with that log\.$/;

/** Everything written to stderr while `run` goes on. */
async function stderrOf(run: () => Promise<unknown>): Promise<string> {
  let written = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return written;
}

const textOf = (result: { content: unknown }) => (result.content as { type: string; text: string }[])[0]!.text;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('an unexpected exception in a tool', () => {
  it('becomes {"error": "Meshfleet hit an internal error …"} with isError; the stack goes to stderr only', async () => {
    let result: Awaited<ReturnType<typeof toolResult>> | undefined;
    const logged = await stderrOf(async () => {
      result = await toolResult(() => {
        throw new TypeError('cannot read properties of undefined (reading "secretField")');
      });
    });
    expect(result!.isError).toBe(true);
    expect(result!.content).toHaveLength(1);
    const reply = JSON.parse(textOf(result!));
    expect(Object.keys(reply)).toEqual(['error']);
    expect(reply.error).toMatch(INTERNAL);
    expect(textOf(result!)).not.toContain('secretField');

    expect(logged).toMatch(/^meshfleet error: tool failed TypeError: cannot read properties of undefined \(reading "secretField"\)\n {4}at /);
    expect(logged).toContain('result.test.ts'); // the stack, down to where it was thrown
  });

  it('also when the work was async and rejected', async () => {
    let result: Awaited<ReturnType<typeof toolResult>> | undefined;
    const logged = await stderrOf(async () => {
      result = await toolResult(async () => {
        await Promise.resolve();
        throw new RangeError('index 7 out of range');
      });
    });
    expect(result!.isError).toBe(true);
    expect(JSON.parse(textOf(result!)).error).toMatch(INTERNAL);
    expect(logged).toContain('RangeError: index 7 out of range');
  });

  it('from a real server whose database was changed under it, and the server goes on answering', async () => {
    h = await startHarness();
    await h.ok('save_fleet_template', { name: 'pair', agents: [{ role: 'a', prompt: 'p' }] });
    // Someone "cleans up" the file with the sqlite3 CLI while the server runs.
    const meddler = new BetterSqlite3(h.dbPath);
    meddler.exec('DROP TABLE template_agents; DROP TABLE templates;');
    meddler.close();

    let reply: { isError: boolean; json: any } | undefined;
    const logged = await stderrOf(async () => { reply = await h!.call('list_fleet_templates'); });
    expect(reply).toEqual({ isError: true, json: { error: expect.stringMatching(INTERNAL) } });
    expect(JSON.stringify(reply)).not.toMatch(/no such table|SqliteError|\bat /);
    expect(logged).toMatch(/meshfleet error: tool failed SqliteError: no such table: templates\n {4}at /);

    expect(await h.ok('ping')).toMatchObject({ status: 'ok' });
  });
});
