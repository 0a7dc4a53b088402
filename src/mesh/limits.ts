// Every bound on what tools accept and return, in one place: the README's limits table is
// written from this file, and schemas, domain checks and error messages all read it.
export { MAX_PAYLOAD_BYTES, MESSAGE_TYPES, type MessageType } from '../store/limits.js';
export { MAX_QUOTE_CHARS, quote } from '../store/quote.js';

/** Ids of fleets, agents and messages, capability keys, idempotency keys and correlation ids. */
export const MAX_ID_CHARS = 128;
export const MAX_ROLE_CHARS = 200;
export const MAX_MODEL_CHARS = 128;
/** A skill, a synonym, a taxonomy node: one term. */
export const MAX_TERM_CHARS = 64;
export const MAX_SKILLS = 64;
export const MAX_SYNONYMS = 64;
/**
 * Terms per list_synonyms page. A term has at most MAX_SYNONYMS synonyms of MAX_TERM_CHARS each,
 * ~25 KB of JSON even if every character needs a \u escape, so a page stays under 2.6 MB.
 */
export const MAX_SYNONYM_PAGE = 100;
export const MAX_TAXONOMY_NODES = 10_000;
/** Levels below a top-level skill; the closure table holds at most nodes × (depth + 1) rows. */
export const MAX_TAXONOMY_DEPTH = 16;
/**
 * A prompt travels as one argument and again in MESHFLEET_PROMPT; Linux refuses a single
 * argument or variable over 128 KiB (MAX_ARG_STRLEN), so stay well below.
 */
export const MAX_PROMPT_BYTES = 98_304;
/** Premade agent names: a plain file stem, no path. */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_DESCRIPTION_CHARS = 2_000;
/** route_work's task description. */
export const MAX_TASK_CHARS = 4_000;
/**
 * route_work routes on this many distinct words of a description, the first ones: each word
 * can reach hundreds of agents, and 491 taxonomy names in one description took 170 ms.
 */
export const MAX_ROUTE_WORDS = 64;
export const MAX_TOP_N = 100;
export const MAX_BATCH_MESSAGES = 10_000;
/**
 * Deliveries one send_messages call may create (a broadcast makes one per other agent): bounds
 * how long the batch holds the database's write lock (about half a second here).
 */
export const MAX_BATCH_DELIVERIES = 100_000;
/** All payloads of one send_messages call together. */
export const MAX_BATCH_PAYLOAD_BYTES = 16 * 1_048_576;
/**
 * One JSON-RPC line `meshfleet serve` reads over stdio; a longer line is skipped, not buffered.
 * Room for a full send_messages batch (MAX_BATCH_PAYLOAD_BYTES) even when JSON escaping doubles
 * its payloads, plus the envelope of MAX_BATCH_MESSAGES messages.
 */
export const MAX_LINE_BYTES = 48 * 1_048_576;
/**
 * What one reply may hold, in UTF-8 bytes of its JSON. The JSON-RPC line that carries it escapes
 * it once more (at most doubling it), so a line stays under 8 MiB: the SDK's clients refuse more
 * than 10 MiB.
 */
export const MAX_REPLY_BYTES = 4 * 1_048_576;
/** How long an idempotency_key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** File reservations: patterns per reserve_files call, each pattern's length, the longest TTL. */
export const MAX_RESERVATION_PATHS = 64;
export const MAX_RESERVATION_PATTERN_CHARS = 256;
/** Wildcards (`*`, `**`, `?`, `[...]`) in one pattern: deciding whether two patterns overlap grows with their product. */
export const MAX_RESERVATION_WILDCARDS = 16;
export const MAX_RESERVATION_TTL_MS = 7 * 24 * 3_600_000;
export const MIN_RESERVATION_TTL_MS = 1_000;
export const DEFAULT_RESERVATION_TTL_MS = 3_600_000;
export const MAX_RESERVATION_REASON_CHARS = 500;
/** Reservations one fleet may hold at once (live ones), so a conflict check stays short. */
export const MAX_LIVE_RESERVATIONS_PER_FLEET = 1_000;
