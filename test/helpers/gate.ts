// Child processes let go at one moment: each says "at-gate" once loaded (gate-child.mjs) and waits;
// the gate, a line on every stdin, opens only when all have said it, so none is still booting when
// the others act.
import { spawn } from 'node:child_process';

export interface GatedRun {
  code: number | null;
  /** What the child wrote after "at-gate". */
  out: string;
  err: string;
}

/** Runs `node` once per argument list, all let go together; resolves with each run, in order. */
export async function runAtGate(argLists: readonly string[][]): Promise<GatedRun[]> {
  const children = argLists.map((args) => {
    const child = spawn(process.execPath, args);
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk) => { err += chunk; });
    const atGate = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.startsWith('at-gate\n')) resolve();
      });
      child.on('close', (code) => reject(new Error(`a child ended (code ${code}) before reaching the gate: ${err}`)));
    });
    const done = new Promise<GatedRun>((resolve) => child.on('close', (code) => resolve({ code, out: out.replace(/^at-gate\n/, ''), err })));
    return { child, atGate, done };
  });
  try {
    await Promise.all(children.map((c) => c.atGate));
  } catch (err) {
    for (const { child } of children) child.kill();
    throw err;
  }
  for (const { child } of children) child.stdin.write('go\n');
  return Promise.all(children.map((c) => c.done));
}
