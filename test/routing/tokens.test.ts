import { describe, expect, it } from 'vitest';
import { termsOf, tokens } from '../../src/store/terms.js';

const words = (text: string) => tokens(text).map((t) => [t.whole, ...t.parts]);

describe('one tokenizer for descriptions, roles, skills and taxonomy names', () => {
  it('keeps real skill names whole and offers their sensible parts', () => {
    expect(words('c++ and c# on .net')).toEqual([['c++'], ['c#'], ['.net']]);
    expect(words('node.js')).toEqual([['node.js', 'node', 'js']]);
    expect(words('asp.net')).toEqual([['asp.net', 'asp', 'net']]);
    expect(words('vue3')).toEqual([['vue3', 'vue']]);
    expect(words('python3.12')).toEqual([['python3.12', 'python']]);
    expect(words('ci/cd pipeline is broken')).toEqual([['ci/cd', 'ci', 'cd'], ['pipeline'], ['broken']]);
    expect(words('gpt-4')).toEqual([['gpt-4', 'gpt']]);
    expect(words('aws_lambda')).toEqual([['aws_lambda', 'aws', 'lambda']]);
    expect(words('Next.js 14.')).toEqual([['next.js', 'next', 'js']]);
  });

  it('never makes a bare number or a one-letter fragment a term', () => {
    expect(words('fw3_3_1 vs fw3_5_1')).toEqual([['fw3_3_1', 'fw3'], ['vs'], ['fw3_5_1', 'fw3']]);
    expect(words('upgrade from 18 to 20, then 3.12 and 2.1.0')).toEqual([['upgrade']]);
    expect(words('gpt-3.5')).toEqual([['gpt-3.5', 'gpt']]);
    expect(words('c99 x-ray')).toEqual([['c99'], ['x-ray', 'ray']]);
    // An apostrophe does not cut a word into a one-letter piece.
    expect(words("last night's outage")).toEqual([['last'], ['nights'], ['outage']]);
  });

  it('gives a role or skill its whole text, its words, and their parts marked as parts', () => {
    expect(termsOf('Site Reliability Engineer')).toEqual([
      { term: 'site reliability engineer', part: false }, { term: 'site', part: false }, { term: 'reliability', part: false }, { term: 'engineer', part: false },
    ]);
    expect(termsOf('fw3_3_1')).toEqual([{ term: 'fw3_3_1', part: false }, { term: 'fw3', part: true }]);
    // A part that is also a word of the same text stays a word.
    expect(termsOf('node node.js')).toEqual([
      { term: 'node node.js', part: false }, { term: 'node', part: false }, { term: 'node.js', part: false }, { term: 'js', part: true },
    ]);
  });
});
