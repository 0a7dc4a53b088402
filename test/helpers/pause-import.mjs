// Preloaded into the real `meshfleet migrate` (node --import this-file main.js migrate ...):
// after the N-th row insert into messages (N from MESHFLEET_TEST_PAUSE_AFTER_MESSAGES) it
// prints "paused after N messages" and blocks inside the import's transaction until killed.
// Only the driver is instrumented; the command and its import code run unchanged.
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const pauseAfter = Number(process.env.MESHFLEET_TEST_PAUSE_AFTER_MESSAGES);

const probe = new Database(':memory:');
const statementPrototype = Object.getPrototypeOf(probe.prepare('SELECT 1'));
probe.close();
const run = statementPrototype.run;
let inserted = 0;
statementPrototype.run = function (...params) {
  const result = run.apply(this, params);
  if (/^\s*INSERT INTO messages\b/i.test(this.source) && result.changes === 1 && ++inserted === pauseAfter) {
    writeSync(1, `paused after ${inserted} messages\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
  return result;
};
