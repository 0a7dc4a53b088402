// What the import derives rather than copies, written out by hand for every ledger the tests
// import: read off each JSON file with the rules of COMPATIBILITY.md ("How records map"), never
// computed, so a mistake in src/store/legacy cannot repeat itself here.

export interface DerivedExpectations {
  /** Agent id → attempts: 0 for an agent that never started, else one more than its retries. */
  attempts: Record<string, number>;
  /**
   * Message id → its deliveries, one line per agent: "<agent> pending" or "<agent> acked", then
   * " at <ms>" for an ack receipt's time and ", read <ms>" for a seen receipt's.
   */
  deliveries: Record<string, string[]>;
  /** Template key in the ledger → the name@version it is stored as. */
  templates: Record<string, string>;
}

/** By `fixtures/<file>` and, for the old system's own ledgers, `shared/<file>`. */
export const DERIVED: Record<string, DerivedExpectations> = {
  'fixtures/ledger-v0-early.json': { attempts: { 'e-1': 0 }, deliveries: {}, templates: {} },

  'fixtures/ledger-v0.json': {
    attempts: { 'd-lead': 1, 'd-api': 1, 'd-guide': 1, 'p-1': 3 },
    deliveries: {
      'm-split': ['d-api pending', 'd-guide pending'], // a v0 broadcast: every other agent of f-docs
      'm-q': ['d-lead acked'],
      'm-a': ['d-guide pending'],
      'm-help': ['p-1 acked'],
    },
    templates: { 'docs-pair': 'docs-pair@1' },
  },

  'fixtures/ledger-v1-dangling.json': {
    attempts: { 'o-1': 1, 'o-2': 0 },
    deliveries: {
      'd-late': ['o-ghost pending'],
      'd-early': ['o-1 pending', 'o-ghost pending'], // o-ghost's inbox holds it too
      'd-lost': [],
    },
    templates: {},
  },

  'fixtures/ledger-v1-unicode.json': {
    attempts: { 'w-1': 0, 'w-2': 0 },
    deliveries: Object.fromEntries(['u-emoji', 'u-nul', 'u-scripts', 'u-combining', 'u-controls', 'u-json', 'u-lone']
      .map((id) => [id, ['w-2 pending']])),
    templates: {},
  },

  'fixtures/ledger-v1.json': {
    attempts: { 's-api': 1, 's-ui': 1, 's-qa': 2 },
    deliveries: {
      'x-contract': ['s-ui acked'],
      'x-freeze': ['s-qa pending', 's-ui acked'],
      'x-bug': ['s-api pending'],
      'x-ask': ['s-api pending'],
    },
    templates: {},
  },

  'fixtures/ledger-v2-big-payloads.json': {
    attempts: { 'g-1': 1, 'g-2': 1 },
    deliveries: { 'b-64k': ['g-2 pending'], 'b-over': ['g-2 acked'] },
    templates: {},
  },

  'fixtures/ledger-v2.json': {
    attempts: { 'r-lead': 1, 'r-rev': 1, 'r-test': 1, 'r-late': 0 },
    deliveries: {
      'v-plan': ['r-rev pending, read 1721000110000', 'r-test acked at 1721000120000'],
      'v-go': ['r-rev acked at 1721000210000', 'r-test acked at 1721000220000, read 1721000205000'],
      'v-done': ['r-lead pending'],
    },
    templates: { 'release@v1': 'release@1', 'release@v2': 'release@2' },
  },

  'shared/ledger-v0.json': {
    attempts: { a1: 1, a2: 1 },
    deliveries: { m1: ['a2 acked'], m2: ['a1 pending'] },
    templates: {},
  },

  'shared/ledger-v1.json': {
    attempts: { b1: 1, b2: 1 },
    deliveries: { n1: ['b2 acked'], n2: ['b1 pending'], n3: ['b2 acked'] },
    templates: {},
  },

  'shared/ledger-v2.json': {
    attempts: { c1: 1, c2: 1, c3: 1 },
    deliveries: {
      'm-direct': ['c2 acked at 1720000110000'],
      'm-proposal': ['c2 pending', 'c3 pending, read 1720000205000'], // an r-ack receipt is neither seen nor ack
    },
    templates: { 'review-fleet@v1': 'review-fleet@1' },
  },

  'shared/tampered-timestamps.json': { attempts: { a1: 1 }, deliveries: {}, templates: {} },
};
