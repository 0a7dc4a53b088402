import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { MAX_DESCRIPTION_CHARS } from '../mesh/limits.js';
import {
  deleteTemplate, exportTemplate, getTemplate, importTemplate, listTemplates, saveTemplate, TEMPLATE_EXPORT_SCHEMA,
} from '../mesh/templates.js';
import type { ToolDeps } from './deps.js';
import { pageFields, pageOf } from './paging.js';
import { toolResult } from './result.js';
import { page, templateAgents, templateName, templateVersion, text, whole } from './schemas.js';
import { templateJson } from './wire.js';

const description = text('description', MAX_DESCRIPTION_CHARS, { empty: true }).describe(`What the fleet is for (at most ${MAX_DESCRIPTION_CHARS} characters)`);

export function registerTemplateTools(server: McpServer, { store }: ToolDeps): void {
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
    description: 'The spec of a saved template ({agents}) to pass to spawn_fleet, possibly after editing prompts.',
    inputSchema: { name: templateName, version: templateVersion },
  }, (input) => toolResult(() => {
    const t = getTemplate(store, input.name, input.version);
    return { spec: { agents: t.agents }, template: { name: t.name, version: t.version } };
  }));
}
