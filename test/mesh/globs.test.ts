// Reservation patterns: git's wildmatch rules for a path, and an exact answer to "can one file
// match both patterns" (two reservations conflict), checked against picomatch on random cases.
import { describe, expect, it } from 'vitest';
import { checkPattern, overlap, pathMatcher } from '../../src/mesh/globs.js';

const matches = (pattern: string, path: string) => pathMatcher(pattern)(path);

describe('a path matches a pattern by wildmatch rules', () => {
  it.each([
    ['src/*.ts', 'src/app.ts', true], ['src/*.ts', 'src/lib/app.ts', false],
    ['src/**', 'src/lib/deep/app.ts', true], ['**/*.md', 'README.md', true], ['**/*.md', 'docs/a/b.md', true],
    ['a/**/b.ts', 'a/b.ts', true], ['a/**/b.ts', 'a/x/y/b.ts', true], ['*.ts', '.eslintrc.ts', true],
    ['app/(shop)/*.tsx', 'app/(shop)/page.tsx', true], ['app/(shop)/*.tsx', 'app/shop/page.tsx', false],
    ['[!a]b', 'cb', true], ['[!a]b', 'ab', false], ['v[[:digit:]].txt', 'v7.txt', true], ['a\\*b', 'a*b', true], ['a\\*b', 'axb', false],
    ['{a,b}.ts', '{a,b}.ts', true], ['{a,b}.ts', 'a.ts', false], ['?', '/', false], ['src', 'src/app.ts', false],
  ])('%s against %s: %s', (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });

  it.each([
    ['', 'is empty'], ['/etc/passwd', 'starts with "/"'], ['../x', '".." folder'], ['a//b', 'empty folder name'], ['src/', 'empty folder name'],
    ['a[/]b', '"/" inside [...]'], ['[abc', 'no closing "]"'], ['x\u0007', 'control character'], ['[z-a]', 'backwards range'], ['[[:nope:]]', 'unknown [:class:]'],
    ['x'.repeat(257), 'at most 256 characters'],
  ])('the pattern %j is refused: %s', (pattern, words) => {
    expect(() => checkPattern(pattern)).toThrow(words);
  });
});

describe('two patterns overlap exactly when one file matches both', () => {
  it.each([
    ['src/**', 'src/app.ts', 'src/app.ts'], ['src/*.ts', 'src/a*', null], ['**/*.ts', 'lib/x.ts', 'lib/x.ts'], ['a/**/z', 'a/b/**', null],
    ['docs/*.md', 'docs/**', null], ['[ab]x', '[bc]x', 'bx'], ['*', '?', null],
  ])('%s and %s overlap', (a, b, example) => {
    const met = overlap(a, b);
    expect(met).toBeDefined();
    expect(met!.example).not.toBeNull();
    if (example !== null) expect(met!.example).toBe(example);
    expect(matches(a, met!.example!)).toBe(true);
    expect(matches(b, met!.example!)).toBe(true);
  });

  it.each([
    ['src/**', 'test/**'], ['src/*.ts', 'src/*.md'], ['src/*.ts', 'src/lib/*.ts'], ['[ab]x', '[cd]x'], ['[!a]', 'a'], ['a/**', 'a'],
    ['**/*.ts', '**/*.md'], ['*.ts', 'src/*.ts'],
  ])('%s and %s do not overlap', (a, b) => {
    expect(overlap(a, b)).toBeUndefined();
  });

  it('agrees with picomatch on 3,000 random pattern pairs and paths', () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const names = ['a', 'b', 'ab', 'x.ts', 'a.ts', '.env', 'b.md'];
    const patternParts = ['a', 'b', '*', '?', '**', '*.ts', 'a*', '[ab]', '[!a]*', 'x.ts', '.env', '*.md'];
    const randomPattern = () => Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(patternParts)).join('/');
    const randomPath = () => Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(names)).join('/');
    let overlapping = 0;
    for (let i = 0; i < 3_000; i++) {
      const [a, b] = [randomPattern(), randomPattern()];
      const met = overlap(a, b);
      if (met !== undefined) {
        overlapping++;
        // Every example it gives is a file both patterns match.
        expect([a, b, matches(a, met.example!), matches(b, met.example!)]).toEqual([a, b, true, true]);
      } else {
        // No file it says none for matches both: try random ones.
        for (let j = 0; j < 20; j++) {
          const path = randomPath();
          expect([a, b, path, matches(a, path) && matches(b, path)]).toEqual([a, b, path, false]);
        }
      }
    }
    expect(overlapping).toBeGreaterThan(300);
    expect(overlapping).toBeLessThan(2_900);
  });

  it('decides the most complex patterns allowed, and refuses more wildcards than 16', () => {
    const a = `${'x*a'.repeat(16)}q`;
    const b = `${'x*b'.repeat(16)}q`;
    expect(overlap(a, b)).toBeUndefined();
    const same = overlap(a, `${'x*a'.repeat(15)}x*`);
    expect(same).toBeDefined();
    if (same!.example !== null) expect(matches(a, same!.example)).toBe(true);
    expect(overlap(`${'**/'.repeat(15)}x.ts`, `${'*/'.repeat(15)}*.ts`)?.example).toMatch(/\.ts$/);
    expect(() => checkPattern('*a'.repeat(17))).toThrow('at most 16 wildcards');
  });
});
