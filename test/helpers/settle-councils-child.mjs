// A process that looks at overdue councils when told to, as a server with no hub running would.
// Usage: node settle-councils-child.mjs <db> <tally|vote|sweep> <voterId> <councilId>...
// Prints "at-gate" once its store is open, blocks until a line arrives on stdin (the parent sends
// it only when every child is at the gate), then: tally reads each council as tally_council does,
// vote casts a late vote as voterId on each, sweep runs one hub sweep. Prints one line of JSON.
import { castVote, settleDueCouncils, tallyCouncilNow } from '../../dist/src/mesh/councils.js';
import { openStore } from '../../dist/src/store/open.js';
import { waitAtGate } from './gate-child.mjs';

const [dbPath, mode, voterId, ...councilIds] = process.argv.slice(2);
const store = openStore(dbPath);
waitAtGate();
const seen = {};
const refused = {};
if (mode === 'sweep') {
  seen.decided = settleDueCouncils(store);
} else {
  for (const id of councilIds) {
    if (mode === 'tally') {
      const council = tallyCouncilNow(store, id, null);
      seen[id] = { outcome: council.outcome, decided_at: council.decidedAt };
    } else {
      try {
        castVote(store, id, voterId, true, 'too late');
      } catch (err) {
        if (err?.name !== 'MeshError') throw err;
        refused[id] = err.message;
      }
    }
  }
}
store.close();
process.stdout.write(`${JSON.stringify({ seen, refused })}\n`);
