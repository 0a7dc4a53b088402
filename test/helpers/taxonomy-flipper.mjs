// Replaces the taxonomy again and again, alternating two trees, until killed.
// Usage: node taxonomy-flipper.mjs <db>
import { openStore } from '../../dist/src/store/open.js';
import { setTaxonomy } from '../../dist/src/routing/taxonomy.js';

const store = openStore(process.argv[2]);
const trees = [
  { web: { react: ['nextjs'], vue: ['nuxt'] } },
  { web: { react: { ssr: ['nextjs'] }, vue: ['nuxt'] } },
];
let flips = 0;
process.stdout.write('ready\n');
for (;;) {
  setTaxonomy(store, trees[flips % 2]);
  flips += 1;
  if (flips % 50 === 0) process.stdout.write(`${flips}\n`);
}
