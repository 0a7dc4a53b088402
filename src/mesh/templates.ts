import type { Store } from '../store/open.js';
import { MeshError } from './errors.js';
import { recordEvent } from './events.js';
import { checkAgentSpec, type AgentSpec } from './fleets.js';
import { MAX_DESCRIPTION_CHARS, quote } from './limits.js';

export const TEMPLATE_NAME = /^[a-z0-9_-]{1,64}$/;
export const MAX_TEMPLATE_AGENTS = 32;
export const TEMPLATE_EXPORT_SCHEMA = 'meshfleet-template-v1';

export interface Template {
  name: string;
  version: number;
  description: string | null;
  agents: AgentSpec[];
  createdAt: number | null;
}

export interface TemplateSummary {
  name: string;
  latestVersion: number;
  versions: number[];
  description: string | null;
  agentCount: number;
  createdAt: number | null;
}

export interface TemplateExport {
  schema: typeof TEMPLATE_EXPORT_SCHEMA;
  name: string;
  version: number;
  description: string | null;
  agents: AgentSpec[];
  exported_at: number;
}

export function checkTemplateName(name: string): void {
  if (!TEMPLATE_NAME.test(name)) {
    throw new MeshError('invalid', `Template name ${quote(name)} is not allowed.`,
      'Use 1 to 64 lowercase letters, digits, "-" or "_", e.g. "review-fleet".');
  }
}

/** Saves the template as the next version of its name; earlier versions stay. */
export function saveTemplate(store: Store, input: { name: string; description?: string | null; agents: AgentSpec[] }, now: number = Date.now(), event: 'template_saved' | 'template_imported' = 'template_saved'): Template {
  checkTemplateName(input.name);
  if (input.agents.length < 1 || input.agents.length > MAX_TEMPLATE_AGENTS) {
    throw new MeshError('invalid', `A template holds 1 to ${MAX_TEMPLATE_AGENTS} agents; got ${input.agents.length}.`, 'Pass agents: [{role, prompt, agent?}, …].');
  }
  if (input.description != null && input.description.length > MAX_DESCRIPTION_CHARS) {
    throw new MeshError('too_large', `description is ${input.description.length} characters; the limit is ${MAX_DESCRIPTION_CHARS}.`, 'Say in a few sentences what the fleet is for.');
  }
  input.agents.forEach((seat, index) => checkAgentSpec(seat, `agents[${index}].`));
  return store.write(() => {
    const latest = store.first(store.sql.selectFrom('templates').select((eb) => eb.fn.max('version').as('v')).where('name', '=', input.name));
    // Numbers are never reused, even after the latest version was deleted: an export names one
    // version for good. The highest number ever given is kept in meshfleet_meta.
    const highWater = Number(store.first(store.sql.selectFrom('meshfleet_meta').select('value').where('key', '=', highWaterKey(input.name)))?.value ?? 0);
    const version = Math.max(latest?.v ?? 0, highWater) + 1;
    store.run(store.sql.insertInto('meshfleet_meta').values({ key: highWaterKey(input.name), value: String(version) })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(version) })));
    store.run(store.sql.insertInto('templates').values({ name: input.name, version, description: input.description ?? null, created_at: now }));
    input.agents.forEach((seat, position) => store.run(store.sql.insertInto('template_agents').values({
      template_name: input.name, template_version: version, position, role: seat.role, prompt: seat.prompt, agent: seat.agent ?? null,
      profile: seat.profile ?? null,
    })));
    recordEvent(store, { kind: event, data: { name: input.name, version } }, now);
    return { name: input.name, version, description: input.description ?? null, agents: input.agents.map(cleanSeat), createdAt: now };
  });
}

/** The given version, or the latest. */
export function getTemplate(store: Store, name: string, version?: number): Template {
  checkTemplateName(name);
  let query = store.sql.selectFrom('templates').selectAll().where('name', '=', name);
  query = version === undefined ? query.orderBy('version', 'desc').limit(1) : query.where('version', '=', version);
  const row = store.first(query);
  if (row === undefined) {
    const known = versionsOf(store, name);
    throw new MeshError('not_found', version === undefined || known.length === 0 ? `No template ${quote(name)}.` : `Template ${quote(name)} has no version ${version}; it has ${known.join(', ')}.`,
      'Call list_fleet_templates to see what is saved.');
  }
  const seats = store.all(store.sql.selectFrom('template_agents').select(['role', 'prompt', 'agent', 'profile'])
    .where('template_name', '=', name).where('template_version', '=', row.version).orderBy('position'));
  return { name, version: row.version, description: row.description, agents: seats.map(cleanSeat), createdAt: row.created_at };
}

/** Every template's latest version, by name. */
export function listTemplates(store: Store): TemplateSummary[] {
  const rows = store.all(store.sql.selectFrom('templates').selectAll().orderBy('name').orderBy('version'));
  const counts = store.all(store.sql.selectFrom('template_agents')
    .select(['template_name', 'template_version', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['template_name', 'template_version']));
  const seatsOf = new Map(counts.map((c) => [`${c.template_name}@${c.template_version}`, c.n]));
  const byName = new Map<string, TemplateSummary>();
  for (const row of rows) {
    byName.set(row.name, {
      name: row.name, latestVersion: row.version, versions: [...(byName.get(row.name)?.versions ?? []), row.version],
      description: row.description, agentCount: seatsOf.get(`${row.name}@${row.version}`) ?? 0, createdAt: row.created_at,
    });
  }
  return [...byName.values()];
}

/** Deletes one version, or every version when none is given. */
export function deleteTemplate(store: Store, name: string, version?: number, now: number = Date.now()): { deletedVersions: number[] } {
  return store.write(() => {
    const target = getTemplate(store, name, version); // not_found when absent
    const deletedVersions = version === undefined ? versionsOf(store, name) : [target.version];
    let query = store.sql.deleteFrom('templates').where('name', '=', name);
    if (version !== undefined) query = query.where('version', '=', version);
    store.run(query);
    recordEvent(store, { kind: 'template_deleted', data: { name, versions: deletedVersions } }, now);
    return { deletedVersions };
  });
}

export function exportTemplate(store: Store, name: string, version?: number, now: number = Date.now()): TemplateExport {
  const t = getTemplate(store, name, version);
  return { schema: TEMPLATE_EXPORT_SCHEMA, name: t.name, version: t.version, description: t.description, agents: t.agents, exported_at: now };
}

/** Saves an exported template as the next version of its name (never overwriting). */
export function importTemplate(store: Store, doc: { schema: string; name: string; description?: string | null; agents: AgentSpec[] }, now: number = Date.now()): Template {
  if (doc.schema !== TEMPLATE_EXPORT_SCHEMA) {
    throw new MeshError('invalid', `template.schema is ${JSON.stringify(doc.schema)}; only ${quote(TEMPLATE_EXPORT_SCHEMA)} can be imported.`,
      'Pass the object export_fleet_template returned, unchanged.');
  }
  return saveTemplate(store, doc, now, 'template_imported');
}

const highWaterKey = (name: string): string => `template_version:${name}`;

function versionsOf(store: Store, name: string): number[] {
  return store.all(store.sql.selectFrom('templates').select('version').where('name', '=', name).orderBy('version')).map((r) => r.version);
}

/** A seat as tools show it: agent and profile only when set, as the old export format had neither. */
const cleanSeat = (seat: AgentSpec): AgentSpec => ({
  role: seat.role, prompt: seat.prompt, ...(seat.agent ? { agent: seat.agent } : {}), ...(seat.profile ? { profile: seat.profile } : {}),
});
