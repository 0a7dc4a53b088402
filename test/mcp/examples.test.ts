// The shipped examples: each template imports through import_fleet_template as it is, and the
// package ships them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXAMPLES_DIR, exampleNames, loadExample } from '../../src/cli/examples.js';
import { packageRoot } from '../../src/store/package-root.js';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
beforeEach(async () => { h = await startHarness(); });
afterEach(() => h.close());

describe('examples/', () => {
  it('holds at least the frontend bug bash and the review pipeline, and the package ships them', () => {
    expect(exampleNames()).toEqual(expect.arrayContaining(['frontend-bug-bash', 'review-pipeline']));
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('examples');
  });

  for (const name of exampleNames()) {
    it(`${name}: imports unchanged, exports back as it was, and its README says how to run it`, async () => {
      const { template } = loadExample(name);
      const imported = (await h.ok('import_fleet_template', { template })).template;
      expect(imported).toMatchObject({ name, version: 1, description: template.description, agents: template.agents });
      const exported = await h.ok('export_fleet_template', { name });
      expect({ ...exported, exported_at: undefined, version: undefined }).toEqual({ ...template, exported_at: undefined, version: undefined });
      // What the test agent acts on (examples run with `meshfleet demo --example`): skills for each seat, a follow-up to route.
      for (const seat of template.agents) expect(seat.prompt).toMatch(/\bSkills: [a-z-]+(, [a-z-]+)*\./);
      expect(template.agents[0]!.prompt).toMatch(/route_work "[^"]+"/);
      const readme = join(EXAMPLES_DIR, name, 'README.md');
      expect(existsSync(readme)).toBe(true);
      expect(readFileSync(readme, 'utf8')).toContain(`meshfleet demo --example ${name}`);
    });
  }
});
