// How text becomes the lower-cased terms routing matches on. One tokenizer for task
// descriptions, roles, skills, taxonomy names and synonyms, so they meet.

// Letters, digits and + # . - make words: "c++", "node.js", "react-native" and "skill-3-2" stay whole.
const WORD_SEPARATORS = /[^\p{L}\p{N}+#.-]+/u;

export const STOP_WORDS = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'can', 'do', 'for', 'from', 'has', 'have', 'help', 'i', 'in', 'into', 'is',
  'it', 'its', 'me', 'my', 'need', 'needs', 'of', 'on', 'or', 'our', 'please', 'should', 'so', 'some', 'that', 'the', 'their',
  'them', 'then', 'there', 'these', 'this', 'to', 'up', 'us', 'we', 'what', 'when', 'which', 'who', 'will', 'with', 'work',
  'would', 'you', 'your',
]);

/** Lower-case, trimmed: the form names are stored and compared in. */
export const normalizeTerm = (text: string): string => text.trim().toLowerCase();

/** The words of a text, lower-cased, without stop words; "node.js" and "c++" stay whole. */
export function keywords(text: string): string[] {
  const words = normalizeTerm(text).split(WORD_SEPARATORS).map((w) => w.replace(/^[.-]+|[.-]+$/g, ''));
  return [...new Set(words.filter((w) => w.length > 0 && !STOP_WORDS.has(w)))];
}

/**
 * A role or skill as terms: the whole text, each of its words, and the parts of hyphenated
 * words, so a task saying "api" finds the role "api-writer" (a description keeps "api-writer"
 * whole, so it finds only that).
 */
export function termsOf(text: string): string[] {
  const words = keywords(text);
  const parts = words.flatMap((w) => (w.includes('-') ? w.split('-').filter((p) => p.length > 0 && !STOP_WORDS.has(p)) : []));
  return [...new Set([normalizeTerm(text), ...words, ...parts].filter((t) => t.length > 0))];
}
