// How an error repeats a value it was given: short, quoted, never a dump. Here, below every
// layer, so the store's legacy import, routing and the MCP edge word refused values alike.

/** How much of a refused value an error quotes. */
export const MAX_QUOTE_CHARS = 100;

/** A refused value as an error shows it: at most MAX_QUOTE_CHARS characters, quoted. */
export function quote(value: unknown): string {
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'a list' : 'an object';
  const text = typeof value === 'string' ? value : String(value);
  if (text.length <= MAX_QUOTE_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, MAX_QUOTE_CHARS))}… (${text.length} characters)`;
}

/** A JSON value where an error says what it found: "nothing", "null", "an array", 5, "text". */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'string' ? quote(value) : String(value);
}
