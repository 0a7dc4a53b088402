// The legacy agent-mesh JSON ledger (schema_version absent, 1 or 2), validated before anything
// is written. Formats: ../shared/legacy-ledgers/README.md.
import { z } from 'zod';
import { describeValue } from '../quote.js';

export const LEDGER_VERSIONS = [0, 1, 2] as const;
export type LedgerVersion = (typeof LEDGER_VERSIONS)[number];

/** The ledger cannot be imported as it is. `record` names the record and field at fault. */
export class LedgerError extends Error {
  override name = 'LedgerError';
  constructor(readonly record: string, message: string, readonly hint: string) {
    super(record === '' ? message : `${record}: ${message}`);
  }
}

const epochMs = z.int();
const optionalMs = epochMs.nullish();
const optionalText = z.string().nullish();

const fleet = z.looseObject({
  id: z.string().min(1).optional(),
  status: z.enum(['pending', 'running', 'complete', 'failed']),
  created_at: epochMs,
  completed_at: optionalMs,
  timeout_ms: z.int().nonnegative().nullish(),
});

const agent = z.looseObject({
  id: z.string().min(1).optional(),
  fleet_id: z.string(),
  role: z.string(),
  prompt: z.string(),
  agent_file: optionalText,
  pid: z.int().nullish(),
  status: z.enum(['pending', 'running', 'complete', 'failed', 'interrupted']),
  output: optionalText,
  error: optionalText,
  started_at: optionalMs,
  completed_at: optionalMs,
  retry_count: z.int().nonnegative().nullish(),
});

const message = z.looseObject({
  id: z.string().min(1).optional(),
  from_agent_id: z.string(),
  to_agent_id: z.string(),
  fleet_id: z.string(),
  type: z.string(),
  payload: z.string(),
  correlation_id: optionalText,
  timestamp: epochMs,
  acknowledged: z.boolean().optional(),
  recipients: z.array(z.string()).optional(),
});

const capability = z.looseObject({
  agent_id: z.string().min(1),
  fleet_id: optionalText,
  role: z.string(),
  skills: z.array(z.string()),
  model: optionalText,
  context_window: z.int().nullish(),
  registered_at: epochMs,
});

const receipt = z.looseObject({
  message_id: z.string(),
  agent_id: z.string(),
  action: z.string().min(1),
  timestamp: epochMs,
  note: optionalText,
});

const templateSeat = z.looseObject({
  role: z.string(),
  prompt: z.string(),
  agent: optionalText,
});

const template = z.looseObject({
  name: z.string().min(1).optional(),
  version: z.int().positive().optional(),
  description: optionalText,
  agents: z.array(templateSeat),
  created_at: optionalMs,
});

const collections = {
  fleets: z.record(z.string(), fleet),
  agents: z.record(z.string(), agent),
  messages: z.record(z.string(), message).optional(),
  inboxes: z.record(z.string(), z.array(z.string())).optional(),
  capabilities: z.record(z.string(), capability).optional(),
  receipts: z.record(z.string(), receipt).optional(),
  ratifications: z.record(z.string(), z.unknown()).optional(),
  templates: z.record(z.string(), template).optional(),
};
const ledgerSchema = z.looseObject({ schema_version: z.unknown().optional(), ...collections });

export type LegacyFleet = z.infer<typeof fleet>;
export type LegacyAgent = z.infer<typeof agent>;
export type LegacyMessage = z.infer<typeof message>;
export type LegacyCapability = z.infer<typeof capability>;
export type LegacyReceipt = z.infer<typeof receipt>;
export type LegacyTemplate = z.infer<typeof template>;
export type LegacyTemplateSeat = z.infer<typeof templateSeat>;

/** Fields of each record kind that the schema models; anything else is kept as legacy_extras. */
export const KNOWN_FIELDS = {
  ledger: new Set(Object.keys(ledgerSchema.shape)),
  fleets: new Set(Object.keys(fleet.shape)),
  agents: new Set(Object.keys(agent.shape)),
  messages: new Set(Object.keys(message.shape)),
  capabilities: new Set(Object.keys(capability.shape)),
  receipts: new Set(Object.keys(receipt.shape)),
  templates: new Set(Object.keys(template.shape)),
  template_agents: new Set(Object.keys(templateSeat.shape)),
} as const;

export interface Ledger {
  version: LedgerVersion;
  fleets: Record<string, LegacyFleet>;
  agents: Record<string, LegacyAgent>;
  messages: Record<string, LegacyMessage>;
  inboxes: Record<string, string[]>;
  capabilities: Record<string, LegacyCapability>;
  receipts: Record<string, LegacyReceipt>;
  ratifications: Record<string, unknown>;
  templates: Record<string, LegacyTemplate>;
  /** Top-level fields the old system wrote that no collection above covers. */
  extraFields: Record<string, unknown>;
  /** Paths of strings whose unpaired surrogates were replaced by U+FFFD. */
  unstorableText: string[];
}

const FIX_HINT = 'Fix that record in a copy of the ledger (the original is never modified) and run `meshfleet migrate` on the copy. Nothing was imported.';

/** Parses and validates ledger text. Throws LedgerError naming the record and field at fault. */
export function parseLedger(text: string): Ledger {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LedgerError('', `the file is not valid JSON (${(err as Error).message}).`,
      'The ledger is damaged; restore it from a backup, or repair the JSON by hand in a copy. Nothing was imported.');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new LedgerError('', `the file holds ${describeValue(raw)}, not a ledger object.`, FIX_HINT);
  }
  const version = readVersion((raw as Record<string, unknown>).schema_version);
  const unstorableText = replaceLoneSurrogates(raw, []);
  const parsed = ledgerSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const record = formatPath(issue.path);
    throw new LedgerError(record, `${issue.message.replace(/^Invalid input: /, '')}; found ${describeValue(valueAt(raw, issue.path))}.`, FIX_HINT);
  }
  const ledger = parsed.data;
  const extraFields = Object.fromEntries(Object.entries(ledger).filter(([key]) => !KNOWN_FIELDS.ledger.has(key)));
  return {
    version,
    fleets: ledger.fleets,
    agents: ledger.agents,
    messages: ledger.messages ?? {},
    inboxes: ledger.inboxes ?? {},
    capabilities: ledger.capabilities ?? {},
    receipts: ledger.receipts ?? {},
    ratifications: ledger.ratifications ?? {},
    templates: ledger.templates ?? {},
    extraFields,
    unstorableText,
  };
}

const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * JSON can escape an unpaired UTF-16 surrogate (\ud83d); UTF-8, and so SQLite, cannot hold one.
 * Replaces each with U+FFFD in place, so what is stored is what a second import compares
 * against, and returns where that happened, for the report.
 */
function replaceLoneSurrogates(value: unknown, path: PropertyKey[]): string[] {
  if (typeof value !== 'object' || value === null) return [];
  const found: string[] = [];
  const entries: [PropertyKey, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, child] of entries) {
    if (typeof child === 'string') {
      const fixed = child.replace(LONE_SURROGATES, '\ufffd');
      if (fixed !== child) {
        (value as Record<PropertyKey, unknown>)[key] = fixed;
        found.push(formatPath([...path, key]));
      }
    } else {
      found.push(...replaceLoneSurrogates(child, [...path, key]));
    }
  }
  return found;
}

function readVersion(value: unknown): LedgerVersion {
  if (value === undefined) return 0;
  if (value === 1 || value === 2) return value;
  throw new LedgerError('schema_version', `${describeValue(value)} is not a ledger version Meshfleet knows (absent, 1 or 2).`,
    'Only ledgers of agent-mesh 0.1 – 0.13 can be imported; if a newer agent-mesh wrote this one, report its version to Meshfleet. Nothing was imported.');
}

/** agents["a1"].status, messages["m1"].recipients[2] */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part, index) => {
    if (typeof part === 'number') return `[${part}]`;
    if (index === 1) return `[${JSON.stringify(String(part))}]`;
    return index === 0 ? String(part) : `.${String(part)}`;
  }).join('');
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = root;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
