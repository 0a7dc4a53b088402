import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { MAX_DESCRIPTION_CHARS } from '../mesh/limits.js';
import {
  deleteTemplate, exportTemplate, getTemplate, importTemplate, listTemplates, saveTemplate, TEMPLATE_EXPORT_SCHEMA,
} from '../mesh/templates.js';
import { MeshError } from '../mesh/errors.js';
import { describeCaller } from './access.js';
import type { ToolDeps } from './deps.js';
import { spawnFleet } from './fleets.js';
import { pageFields, pageOf } from './paging.js';
import { toolResult } from './result.js';
import { flag, page, templateAgents, templateName, templateVersion, text, whole } from './schemas.js';
import { templateJson } from './wire.js';

const description = text('description', MAX_DESCRIPTION_CHARS, { empty: true }).describe(`What the fleet is for (at most ${MAX_DESCRIPTION_CHARS} characters)`);

export function registerTemplateTools(server: McpServer, deps: ToolDeps): void {
  const { store } = deps;
  server.registerTool('save_fleet_template', {
    description: 'Save a reusable fleet shape. Saving a name again makes its next version; earlier versions stay.',
    inputSchema: { name: templateName, description: description.optional(), agents: templateAgents },
  }, (input) => toolResult(() => ({ template: templateJson(saveTemplate(store, input)) })));

  server.registerTool('list_fleet_templates', {
    description: 'Saved templates by name: latest version, all versions, description, agent count; 100 per page (offset, limit up to 1000, has_more, next_offset).',
    inputSchema: page(100, 1_000),
  }, (input) => toolResult(() => {
    const shown = pageOf(listTemplates(store), (t) => ({
      name: t.name, version: t.latestVersion, versions: t.versions, description: t.description, agent_count: t.agentCount, created_at: t.createdAt,
    }), input.offset, input.limit ?? 100);
    return { templates: shown.items, ...pageFields(shown) };
  }));

  server.registerTool('get_fleet_template', {
    description: 'One template with its agents: the latest version, or the one asked for.',
    inputSchema: { name: templateName, version: templateVersion },
  }, (input) => toolResult(() => ({ template: templateJson(getTemplate(store, input.name, input.version)) })));

  server.registerTool('delete_fleet_template', {
    description: 'Delete one version of a template, or all its versions when no version is given.',
    inputSchema: { name: templateName, version: templateVersion },
  }, (input) => toolResult(() => ({ ok: true, name: input.name, deleted_versions: deleteTemplate(store, input.name, input.version).deletedVersions })));

  server.registerTool('export_fleet_template', {
    description: `A template as a portable ${TEMPLATE_EXPORT_SCHEMA} document, for import_fleet_template elsewhere.`,
    inputSchema: { name: templateName, version: templateVersion },
  }, (input) => toolResult(() => exportTemplate(store, input.name, input.version)));

  server.registerTool('import_fleet_template', {
    description: `Save a ${TEMPLATE_EXPORT_SCHEMA} document (from export_fleet_template) as the next version of its name.`,
    inputSchema: {
      template: z.object({
        schema: text('schema', 64),
        name: templateName,
        version: whole('version', 1, Number.MAX_SAFE_INTEGER).optional(),
        description: description.nullish(),
        agents: templateAgents,
        exported_at: z.number().optional(),
      }).describe('The exported document, unchanged'),
    },
  }, (input) => toolResult(() => ({ template: templateJson(importTemplate(store, input.template)) })));

  server.registerTool('spawn_from_template', {
    description: 'The spec of a saved template ({agents}) to pass to spawn_fleet, possibly after editing prompts; with spawn: true (operator only), starts that fleet at once and returns {fleet_id, agent_ids} as spawn_fleet does.',
    inputSchema: {
      name: templateName,
      version: templateVersion,
      spawn: flag('spawn').optional().describe('true: start the fleet now (operator only, like spawn_fleet); default false: return the spec only'),
    },
  }, (input) => toolResult(async () => {
    if (input.spawn === true && deps.caller.kind !== 'operator') {
      // Starting a fleet is spawn_fleet's power, which is the operator's alone; the spec stays readable to every caller.
      throw new MeshError('refused', `spawn: true starts a new fleet, which only the operator may do; ${describeCaller(deps.caller)} may read the spec only.`,
        'Leave out spawn to get the spec, or ask the operator to spawn it (or, as a lead, attach_agent seats to your own fleet).');
    }
    const t = getTemplate(store, input.name, input.version);
    const template = { name: t.name, version: t.version };
    return input.spawn === true ? { ...(await spawnFleet(deps, t.agents)), template } : { spec: { agents: t.agents }, template };
  }));
}
