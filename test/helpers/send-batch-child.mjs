// Sends one send_messages batch through the store, then stops dead at an agreed point so the
// test can SIGKILL it there. Usage:
//   node send-batch-child.mjs <db> <fleetId> <fromAgentId> <toAgentId> <count> <inside|committed>
// inside: stops inside the write transaction, after half of the batch's messages are inserted.
// committed: stops after sendMessages returned, with the connection still open (no checkpoint).
// Either way it prints one line first ("inside <n>" or "committed <n>") and then blocks.
import { writeSync } from 'node:fs';
import { sendMessages } from '../../dist/src/mesh/messages.js';
import { connectionOf } from '../../dist/src/store/connection.js';
import { openStore } from '../../dist/src/store/open.js';

const [dbPath, fleetId, fromAgentId, toAgentId, countText, stopAt] = process.argv.slice(2);
const count = Number(countText);
const stop = (line) => {
  writeSync(1, `${line}\n`); // synchronous: the parent must see it before anything else happens
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // blocks until killed
};

const store = openStore(dbPath);
// A small page cache, so half a batch spills into the WAL file before the commit.
connectionOf(store).pragma('cache_size = 64');
const insertMessage = store.hot.insertMessage;
let inserted = 0;
store.hot.insertMessage = (message) => {
  const seq = insertMessage(message);
  inserted += 1;
  if (stopAt === 'inside' && inserted === Math.floor(count / 2)) stop(`inside ${inserted}`);
  return seq;
};
// About 1.6 KiB a message (the batch stays under the 16 MiB limit on payloads); half of it outgrows
// the small page cache, so pages of the open transaction are in the WAL file when the process dies.
const messages = Array.from({ length: count }, (_, i) => ({
  fleetId, fromAgentId, toAgentId, type: 'handoff', payload: `batch ${i} ${'x'.repeat(1_600)}`,
}));
const { messageIds } = sendMessages(store, messages);
if (stopAt === 'committed') stop(`committed ${messageIds.length}`);
store.close();
