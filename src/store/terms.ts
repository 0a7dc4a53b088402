// How text becomes the lower-cased terms routing matches on. One tokenizer for task
// descriptions, roles, skills, taxonomy names and synonyms, so they meet.
//
// A word keeps the punctuation real skill names carry: "c++", "c#", ".net", "node.js",
// "ci/cd", "python3.12", "gpt-4", "aws_lambda", "fw3_3_1" are each one word. A word also offers
// its parts where they help ("node.js" → "node", "js"; "aws_lambda" → "aws", "lambda"; "vue3" →
// "vue"), but never a bare number or a one-letter fragment: "fw3_3_1" offers "fw3" and nothing
// from "3" or "1". Routing scores a part below the whole word (route-work.ts).

/** Anything but letters, digits and + # . / _ - ends a word. */
const WORD_SEPARATORS = /[^\p{L}\p{N}+#./_-]+/u;
/** Apostrophes inside a word go: "night's" is one word, not "night" and a fragment "s". */
const APOSTROPHES = /['’]/gu;
/** Inside a word, these split it into parts: _ / - and a dot unless it stands between digits (3.12) or starts the word (.net). */
const PART_SEPARATORS = /[_/-]+|(?<=[^\d])\.|(?<=\d)\.(?=[^\d])/u;
/** A name followed by a version: "vue3", "python3.12", "es2020", "gpt4". */
const VERSIONED = /^(\p{L}[\p{L}+#]*?)v?\d+(?:\.\d+)*$/u;
/** A bare number or version ("18", "3.12", "2.1.0"): never a term on its own. */
const NUMBER = /^[\d.]+$/u;

export const STOP_WORDS = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'can', 'do', 'for', 'from', 'has', 'have', 'help', 'i', 'in', 'into', 'is',
  'it', 'its', 'me', 'my', 'need', 'needs', 'of', 'on', 'or', 'our', 'please', 'should', 'so', 'some', 'that', 'the', 'their',
  'them', 'then', 'there', 'these', 'this', 'to', 'up', 'us', 'we', 'what', 'when', 'which', 'who', 'will', 'with', 'work',
  'would', 'you', 'your',
]);

/** Lower-case, trimmed: the form names are stored and compared in. */
export const normalizeTerm = (text: string): string => text.trim().toLowerCase();

/** A word of a text, whole, with the parts it offers (none of them equal to it). */
export interface Token {
  whole: string;
  parts: string[];
}

/** Leading punctuation goes, except the dot of ".net"; trailing goes, except the + and # of "c++" and "c#". */
const trimWord = (w: string): string => w.replace(/^[+#/_-]+|^\.+(?!\p{L})/u, '').replace(/[./_-]+$/u, '');

const usable = (t: string): boolean => t.length > 0 && !NUMBER.test(t) && !STOP_WORDS.has(t);

/** The parts of one word: its pieces between separators, or the name before its version. */
export function partsOf(word: string): string[] {
  const parts = new Set(word.split(PART_SEPARATORS).map(trimWord));
  const base = VERSIONED.exec(word)?.[1];
  if (base !== undefined) parts.add(base);
  return [...parts].filter((p) => p !== word && p.length > 1 && usable(p));
}

/** The words of a text, in order, each once, without stop words or bare numbers. */
export function tokens(text: string): Token[] {
  const seen = new Set<string>();
  const out: Token[] = [];
  for (const raw of normalizeTerm(text).replace(APOSTROPHES, '').split(WORD_SEPARATORS)) {
    const whole = trimWord(raw);
    if (!usable(whole) || seen.has(whole)) continue;
    seen.add(whole);
    out.push({ whole, parts: partsOf(whole) });
  }
  return out;
}

/** The whole words of a text; "node.js" and "c++" stay whole. */
export const keywords = (text: string): string[] => tokens(text).map((t) => t.whole);

/** One term a role or skill is found by; `part` when it is only a part of a word ("node" of "node.js"). */
export interface Term {
  term: string;
  part: boolean;
}

/**
 * A role or skill as terms: the whole text, each of its words, and their parts, so a task
 * saying "api" finds the role "api-writer" and "node" finds the skill "node.js" (as a part).
 * A term that is both a word and a part is kept as a word.
 */
export function termsOf(text: string): Term[] {
  const terms = new Map<string, boolean>();
  const whole = normalizeTerm(text);
  if (whole !== '') terms.set(whole, false);
  const words = tokens(text);
  for (const t of words) terms.set(t.whole, false);
  for (const t of words) for (const p of t.parts) if (!terms.has(p)) terms.set(p, true);
  return [...terms].map(([term, part]) => ({ term, part }));
}
