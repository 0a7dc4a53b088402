// The skill taxonomy: a tree of names given as nested JSON, stored as nodes and a closure table
// (every ancestor/descendant pair with its distance), replaced whole in one transaction.
import { MeshError } from '../mesh/errors.js';
import { MAX_TAXONOMY_DEPTH, MAX_TAXONOMY_NODES, MAX_TERM_CHARS, quote } from '../mesh/limits.js';
import type { NewSkill } from '../store/closure-table.js';
import type { Store } from '../store/open.js';
import { describeValue } from '../store/quote.js';
import { normalizeTerm } from '../store/terms.js';

export type TaxonomyNode = NewSkill;

const SHAPE_HINT = 'Give a tree as nested JSON: {"frontend": {"react": ["nextjs", "remix"]}, "backend": ["node"]}. A name maps to an object of children, an array of leaf names, or null/[]/{} for a leaf.';
const SMALLER_HINT = 'Keep the tree to the skills routing needs; link related names with set_synonyms instead of nesting them deeper.';

/**
 * Flattens nested JSON into nodes, parents first. Throws MeshError for a malformed tree, a
 * name used twice, a name that is its own ancestor (a cycle), or a tree past the limits — as
 * soon as it meets the first node past one, so a hostile tree costs no more than a legal one.
 */
export function parseTaxonomy(tree: unknown): TaxonomyNode[] {
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) {
    throw new MeshError('invalid', `taxonomy must be an object of top-level skills; got ${describeValue(tree)}.`, SHAPE_HINT);
  }
  const nodes: TaxonomyNode[] = [];
  const where = new Map<string, string>(); // name -> path where it was first used
  // path: the (normalized) names from the top down to the parent; its length is the new node's depth.
  const add = (rawName: string, parent: number | null, path: readonly string[]): number => {
    const name = normalizeTerm(rawName);
    const under = path.length === 0 ? 'at the top' : `under ${quote(path.join(' > '))}`;
    if (nodes.length >= MAX_TAXONOMY_NODES) {
      throw new MeshError('too_large', `taxonomy has more than ${MAX_TAXONOMY_NODES} nodes (node ${MAX_TAXONOMY_NODES + 1} is ${quote(name)}, ${under}); the limit is ${MAX_TAXONOMY_NODES}.`, SMALLER_HINT);
    }
    if (path.length > MAX_TAXONOMY_DEPTH) {
      throw new MeshError('too_large', `taxonomy: ${quote(name)}, ${under}, is at depth ${path.length} (a top-level skill is depth 0, its children depth 1); the limit is ${MAX_TAXONOMY_DEPTH}.`, SMALLER_HINT);
    }
    if (name === '') throw new MeshError('invalid', `taxonomy: an empty name at ${path.length === 0 ? 'the top' : `${path.join(' > ')} > `}.`, SHAPE_HINT);
    if (name.length > MAX_TERM_CHARS) {
      throw new MeshError('too_large', `taxonomy: the name ${quote(name)}, ${under}, is ${name.length} characters; the limit is ${MAX_TERM_CHARS}.`, 'Name a skill in a word or two.');
    }
    const at = [...path, name].join(' > ');
    if (path.includes(name)) {
      throw new MeshError('invalid', `taxonomy: "${name}" is its own ancestor (${at}), a cycle.`, 'A skill can appear once in the tree; remove the repeat.');
    }
    const first = where.get(name);
    if (first !== undefined) {
      throw new MeshError('invalid', `taxonomy: "${name}" is used twice, at ${first} and at ${at}.`, 'Each skill has one place in the tree; keep one and link the other by a synonym (set_synonyms) if they mean the same.');
    }
    where.set(name, at);
    nodes.push({ name, parent });
    return nodes.length - 1;
  };
  // Recursion is bounded: walk goes one level down only after add() accepted a node there, and
  // add() refuses depth MAX_TAXONOMY_DEPTH + 1, so no input nests it past ~2 × 17 frames.
  const walk = (value: unknown, parent: number | null, path: readonly string[]): void => {
    if (value === null || value === true) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (typeof item === 'string') add(item, parent, path);
        else if (typeof item === 'object' && item !== null && !Array.isArray(item)) walk(item, parent, path);
        else throw new MeshError('invalid', `taxonomy: ${path.join(' > ')}[${i}] is ${describeValue(item)}; array items must be names or objects.`, SHAPE_HINT);
      });
      return;
    }
    if (typeof value === 'object') {
      for (const [name, children] of Object.entries(value)) {
        const index = add(name, parent, path);
        walk(children, index, [...path, nodes[index]!.name]);
      }
      return;
    }
    throw new MeshError('invalid', `taxonomy: the children of ${path.join(' > ')} are ${describeValue(value)}.`, SHAPE_HINT);
  };
  walk(tree, null, []);
  return nodes;
}

/** Replaces the taxonomy in one transaction; concurrent readers see the old tree or the new. */
export function setTaxonomy(store: Store, tree: unknown): { nodes: number; pairs: number } {
  return writeTaxonomy(store, parseTaxonomy(tree));
}

/**
 * The write half of setTaxonomy, for nodes parseTaxonomy accepted: the whole time the write
 * lock is held (bench/route.bench.ts times it alone).
 */
export function writeTaxonomy(store: Store, nodes: readonly TaxonomyNode[]): { nodes: number; pairs: number } {
  const statements = store.taxonomy;
  return store.write(() => {
    statements.clear();
    return { nodes: nodes.length, pairs: statements.insert(nodes) };
  });
}

/** The taxonomy as nested JSON: a node with only leaf children lists them as an array. */
export function getTaxonomy(store: Store): { taxonomy: Record<string, unknown>; nodes: number } {
  const rows = store.taxonomy.nodes();
  const children = new Map<number | null, { id: number; name: string }[]>();
  for (const row of rows) {
    const siblings = children.get(row.parent_id);
    if (siblings === undefined) children.set(row.parent_id, [row]);
    else siblings.push(row);
  }
  // Built bottom-up without recursion: a tree an older build wrote may be thousands deep.
  const topDown: number[] = [];
  for (let queue = (children.get(null) ?? []).map((k) => k.id), i = 0; i < queue.length; i++) {
    topDown.push(queue[i]!);
    for (const kid of children.get(queue[i]!) ?? []) queue.push(kid.id);
  }
  const built = new Map<number, unknown>();
  const build = (kids: readonly { id: number; name: string }[]): unknown => (kids.every((k) => !children.has(k.id))
    ? kids.map((k) => k.name)
    : Object.fromEntries(kids.map((k) => [k.name, built.get(k.id)])));
  for (const id of topDown.reverse()) built.set(id, build(children.get(id) ?? []));
  const roots = children.get(null) ?? [];
  return { taxonomy: Object.fromEntries(roots.map((k) => [k.name, built.get(k.id)])), nodes: rows.length };
}
