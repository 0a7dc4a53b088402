// What planning an import finds besides rows: legal but odd history, reported as anomalies, and
// whatever the schema does not model, kept as legacy_extras. Nothing is dropped or "fixed" silently.
import type { LegacyExtraTable } from '../schema.js';
import { KNOWN_FIELDS, LedgerError } from './ledger.js';

export interface Anomaly {
  /** The record, as in the ledger: inboxes["a1"][0], agents["a2"].completed_at */
  record: string;
  problem: string;
}

export class Findings {
  readonly anomalies: Anomaly[] = [];
  readonly extras: LegacyExtraTable[] = [];

  /** Reports odd history; the record itself is imported as it was. */
  report(record: string, problem: string): void {
    this.anomalies.push({ record, problem });
  }

  /** Keeps, as JSON, a record the schema has no table for. */
  keepExtra(kind: string, recordKey: string, body: unknown): void {
    this.extras.push({ kind, record_key: recordKey, body: JSON.stringify(body) });
  }

  /** Keeps the fields of a record that the schema does not model, when it has any. */
  keepUnknownFields(kind: keyof typeof KNOWN_FIELDS, recordKey: string, record: object): void {
    const unknown = Object.entries(record).filter(([field]) => !KNOWN_FIELDS[kind].has(field));
    if (unknown.length > 0) this.keepExtra(`${kind}.fields`, recordKey, Object.fromEntries(unknown));
  }
}

/** messages["m1"]: how reports and errors name a record of a collection. */
export const recordLabel = (collection: string, key: string): string => `${collection}[${JSON.stringify(key)}]`;

export const KEY_HINT = 'Every record is keyed by its own id in agent-mesh ledgers; fix the key or the field in a copy of the ledger. Nothing was imported.';

/** A record's own id, when it has one, must be the key it is stored under. */
export function requireKey(label: string, field: string, value: string | undefined, key: string): void {
  if (value !== undefined && value !== key) {
    throw new LedgerError(`${label}.${field}`, `is ${JSON.stringify(value)} but the record is keyed ${JSON.stringify(key)}.`, KEY_HINT);
  }
}
