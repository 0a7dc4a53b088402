// The skill taxonomy: a tree of names given as nested JSON, stored as nodes and a closure table
// (every ancestor/descendant pair with its distance), replaced whole in one transaction.
import { MeshError } from '../mesh/errors.js';
import type { Store } from '../store/open.js';
import { normalizeTerm } from '../store/terms.js';

export const MAX_TAXONOMY_NODES = 10_000;

export interface TaxonomyNode {
  name: string;
  /** Index of the parent in the node list; null for a root. */
  parent: number | null;
}

const SHAPE_HINT = 'Give a tree as nested JSON: {"frontend": {"react": ["nextjs", "remix"]}, "backend": ["node"]}. A name maps to an object of children, an array of leaf names, or null/[]/{} for a leaf.';

/**
 * Flattens nested JSON into nodes, parents first. Throws MeshError for a malformed tree, a
 * name used twice, or a name that is its own ancestor (a cycle).
 */
export function parseTaxonomy(tree: unknown): TaxonomyNode[] {
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) {
    throw new MeshError('invalid', `taxonomy must be an object of top-level skills; got ${describe(tree)}.`, SHAPE_HINT);
  }
  const nodes: TaxonomyNode[] = [];
  const where = new Map<string, string>(); // name -> path where it was first used
  const add = (rawName: string, parent: number | null, path: string[]): number => {
    const name = normalizeTerm(rawName);
    const at = [...path, rawName].join(' > ');
    if (name === '') throw new MeshError('invalid', `taxonomy: an empty name at ${at || 'the top'}.`, SHAPE_HINT);
    if (path.map(normalizeTerm).includes(name)) {
      throw new MeshError('invalid', `taxonomy: "${name}" is its own ancestor (${at}), a cycle.`, 'A skill can appear once in the tree; remove the repeat.');
    }
    const first = where.get(name);
    if (first !== undefined) {
      throw new MeshError('invalid', `taxonomy: "${name}" is used twice, at ${first} and at ${at}.`, 'Each skill has one place in the tree; keep one and link the other by a synonym (set_synonyms) if they mean the same.');
    }
    where.set(name, at);
    nodes.push({ name, parent });
    if (nodes.length > MAX_TAXONOMY_NODES) throw new MeshError('too_large', `taxonomy has more than ${MAX_TAXONOMY_NODES} nodes.`, 'Keep the tree to the skills routing needs.');
    return nodes.length - 1;
  };
  const walk = (value: unknown, parent: number | null, path: string[]): void => {
    if (value === null || value === true) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (typeof item === 'string') add(item, parent, path);
        else if (typeof item === 'object' && item !== null && !Array.isArray(item)) walk(item, parent, path);
        else throw new MeshError('invalid', `taxonomy: ${path.join(' > ')}[${i}] is ${describe(item)}; array items must be names or objects.`, SHAPE_HINT);
      });
      return;
    }
    if (typeof value === 'object') {
      for (const [name, children] of Object.entries(value)) walk(children, add(name, parent, path), [...path, name]);
      return;
    }
    throw new MeshError('invalid', `taxonomy: the children of ${path.join(' > ')} are ${describe(value)}.`, SHAPE_HINT);
  };
  walk(tree, null, []);
  return nodes;
}

/** Replaces the taxonomy in one transaction; concurrent readers see the old tree or the new. */
export function setTaxonomy(store: Store, tree: unknown): { nodes: number; pairs: number } {
  const nodes = parseTaxonomy(tree);
  return store.write(() => {
    store.db.prepare('DELETE FROM skill_closure').run();
    store.db.prepare('DELETE FROM skills').run();
    const insertNode = store.db.prepare('INSERT INTO skills (id, name, parent_id) VALUES (?, ?, ?)');
    const insertPair = store.db.prepare('INSERT INTO skill_closure (ancestor_id, descendant_id, depth) VALUES (?, ?, ?)');
    // Ids are positions + 1; parents come before children, so each node's ancestors are known.
    const ancestors: number[][] = [];
    let pairs = 0;
    nodes.forEach((node, index) => {
      const id = index + 1;
      insertNode.run(id, node.name, node.parent === null ? null : node.parent + 1);
      const chain = node.parent === null ? [] : [node.parent + 1, ...ancestors[node.parent]!];
      ancestors.push(chain);
      insertPair.run(id, id, 0);
      chain.forEach((ancestorId, distance) => insertPair.run(ancestorId, id, distance + 1));
      pairs += chain.length + 1;
    });
    return { nodes: nodes.length, pairs };
  });
}

/** The taxonomy as nested JSON: a node with only leaf children lists them as an array. */
export function getTaxonomy(store: Store): { taxonomy: Record<string, unknown>; nodes: number } {
  const rows = store.db.prepare('SELECT id, name, parent_id FROM skills ORDER BY id').all() as { id: number; name: string; parent_id: number | null }[];
  const children = new Map<number | null, { id: number; name: string }[]>();
  for (const row of rows) children.set(row.parent_id, [...(children.get(row.parent_id) ?? []), row]);
  const build = (parent: number | null): unknown => {
    const kids = children.get(parent) ?? [];
    if (parent !== null && kids.every((k) => !children.has(k.id))) return kids.map((k) => k.name);
    return Object.fromEntries(kids.map((k) => [k.name, build(k.id)]));
  };
  return { taxonomy: build(null) as Record<string, unknown>, nodes: rows.length };
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : JSON.stringify(value);
}
