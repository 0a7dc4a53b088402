// For child processes that a test starts together (test/helpers/gate.ts): say "at-gate" once
// ready, then wait, without turning the event loop, until the parent opens the gate with a line on
// stdin (or stdin ends).
import { readSync } from 'node:fs';

export function waitAtGate() {
  process.stdout.write('at-gate\n');
  const byte = Buffer.alloc(1);
  for (;;) {
    try {
      readSync(0, byte, 0, 1, null);
      return;
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}
