// The old agent-mesh write path, kept here only as the baseline: every send reads the whole
// ledger, adds the message and its inbox entry, and rewrites the whole file, pretty-printed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLEET_ID, legacyLedger, scratchDir, type BenchMessage } from '../fixtures.js';

interface Ledger {
  messages: Record<string, unknown>;
  inboxes: Record<string, string[]>;
}

export function jsonLedger(size: number) {
  const scratch = scratchDir();
  const file = join(scratch.dir, 'agent-mesh.json');
  writeFileSync(file, JSON.stringify(legacyLedger(size), null, 2));
  const add = (ledger: Ledger, m: BenchMessage) => {
    ledger.messages[m.id] = { id: m.id, from_agent_id: m.from, to_agent_id: m.to, fleet_id: FLEET_ID, type: 'handoff', payload: m.payload, timestamp: m.sentAt, acknowledged: false };
    (ledger.inboxes[m.to] ??= []).push(m.id);
  };
  return {
    label: 'legacy JSON ledger (read, add, rewrite)',
    sendOne(m: BenchMessage): void {
      const ledger = JSON.parse(readFileSync(file, 'utf8')) as Ledger;
      add(ledger, m);
      writeFileSync(file, JSON.stringify(ledger, null, 2));
    },
    /** The old server had no batch; the best it could do is one rewrite for all of them. */
    sendBatch(batch: BenchMessage[]): void {
      const ledger = JSON.parse(readFileSync(file, 'utf8')) as Ledger;
      for (const m of batch) add(ledger, m);
      writeFileSync(file, JSON.stringify(ledger, null, 2));
    },
    dispose: scratch.dispose,
  };
}
