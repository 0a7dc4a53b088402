// What may pass from a client's line to the SDK. The SDK drops a message that fails its JSON-RPC
// schema without answering (the client waits forever) and answers bad params with a zod dump
// under -32603; here every problem gets its JSON-RPC code and one sentence naming what is wrong.
import {
  ClientNotificationSchema, ClientRequestSchema, ErrorCode, JSONRPCMessageSchema, JSONRPCNotificationSchema, JSONRPCRequestSchema, RequestIdSchema,
  type JSONRPCMessage, type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { quote } from '../mesh/limits.js';
import { describeValue } from '../store/quote.js';

export type Checked =
  | { ok: true; message: JSONRPCMessage }
  /** answer: false for notifications and client responses, which JSON-RPC never answers. */
  | { ok: false; answer: boolean; id: RequestId | null; code: ErrorCode; message: string };

interface Issue { code: string; path: PropertyKey[]; message: string; expected?: string; values?: unknown[]; keys?: string[]; errors?: Issue[][] }
interface Schema { safeParse(value: unknown): { success: true } | { success: false; error: { issues: Issue[] } } }
type Options = { options: { shape: { method: { value: string } } }[] };

// The SDK's own schema per method, so what passes here also passes its handlers.
const byMethod = (union: unknown): Map<string, Schema> =>
  new Map((union as Options).options.map((schema) => [schema.shape.method.value, schema as unknown as Schema]));
const REQUESTS = byMethod(ClientRequestSchema);
const NOTIFICATIONS = byMethod(ClientNotificationSchema);

const REQUEST_MEMBERS = ['jsonrpc', 'id', 'method', 'params'];
const NOTIFICATION_MEMBERS = ['jsonrpc', 'method', 'params'];
const INVALID = 'Invalid JSON-RPC 2.0 message:';

export function checkIncoming(value: unknown): Checked {
  if (Array.isArray(value)) {
    return refuse(true, null, ErrorCode.InvalidRequest, 'JSON-RPC batches (arrays) are not accepted, as MCP 2025-06-18 removed them: send each message on its own line.');
  }
  if (!isObject(value)) return refuse(true, null, ErrorCode.InvalidRequest, `${INVALID} expected a JSON object (got ${describeValue(value)}).`);
  const hasId = 'id' in value;
  const id = RequestIdSchema.safeParse(value.id).success ? value.id as RequestId : null;
  // Without a method it is a response (never answered) or nothing recognisable (answered: JSON-RPC's own example).
  if (!('method' in value)) {
    const isResponse = 'result' in value || 'error' in value;
    const problem = isResponse ? responseProblem(value) : `${INVALID} it has no "method".`;
    return problem === undefined ? { ok: true, message: value as JSONRPCMessage } : refuse(!isResponse, id, ErrorCode.InvalidRequest, problem);
  }
  // Without an id it is a notification once its method is a string; before that it is nothing we can name.
  const answer = hasId || typeof value.method !== 'string';
  const invalid = (problem: string) => refuse(answer, id, ErrorCode.InvalidRequest, `${INVALID} ${problem}.`);
  if (value.jsonrpc === undefined) return invalid('the "jsonrpc": "2.0" member is missing');
  if (value.jsonrpc !== '2.0') return invalid(`"jsonrpc" must be "2.0" (got ${describeValue(value.jsonrpc)})`);
  if (typeof value.method !== 'string') return invalid(`"method" must be a string (got ${describeValue(value.method)})`);
  if (hasId && id === null) return invalid(`"id" must be a string or an integer (got ${describeValue(value.id)})`);
  const members = hasId ? REQUEST_MEMBERS : NOTIFICATION_MEMBERS;
  const extra = Object.keys(value).find((key) => !members.includes(key));
  if (extra !== undefined) return invalid(`unexpected member ${quote(extra)}; a ${hasId ? 'request' : 'notification'} has only ${members.map((m) => `"${m}"`).join(', ')}`);

  const method = value.method;
  const badParams = (problem: string) => refuse(answer, id, ErrorCode.InvalidParams, `${method}: ${problem}.`);
  if ('params' in value && !isObject(value.params)) return badParams(`params must be a JSON object (got ${describeValue(value.params)})`);
  if (hasId && method === 'tools/call') {
    const params = value.params;
    if (!isObject(params)) return badParams('params must be a JSON object holding "name" and "arguments" (got nothing)');
    if (typeof params.name !== 'string') return badParams(`name must be a string (got ${describeValue(params.name)})`);
    if (params.arguments !== undefined && !isObject(params.arguments)) return badParams(`arguments must be a JSON object (got ${describeValue(params.arguments)})`);
  }
  const schema = (hasId ? REQUESTS : NOTIFICATIONS).get(method);
  const known = schema?.safeParse(value);
  if (known?.success === false) return badParams(describeIssue(value, known.error.issues[0]!));
  if (known?.success === true) return { ok: true, message: value as JSONRPCMessage };
  // The SDK's envelope check, for what the lines above do not name (e.g. params._meta of an unknown method).
  const envelope = ((hasId ? JSONRPCRequestSchema : JSONRPCNotificationSchema) as unknown as Schema).safeParse(value);
  if (!envelope.success) return badParams(describeIssue(value, envelope.error.issues[0]!));
  return { ok: true, message: value as JSONRPCMessage };
}

/**
 * The id of a line too long to parse, read from its first and last bytes: SDK clients write the
 * id last (`…,"jsonrpc":"2.0","id":7}`), others first. Answering with it ends the client's wait.
 */
export function idOfTruncated(head: string, tail: string): RequestId | null {
  const value = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
  const first = head.match(new RegExp(String.raw`^\s*\{(?:\s*"(?:jsonrpc|method)"\s*:\s*"(?:[^"\\]|\\.)*"\s*,)*\s*"id"\s*:\s*${value}\s*[,}]`));
  const last = tail.match(new RegExp(String.raw`[,{]\s*"id"\s*:\s*${value}\s*\}\s*$`));
  for (const match of [first, last]) {
    if (match === null) continue;
    try {
      const id: unknown = JSON.parse(match[1]!);
      if (RequestIdSchema.safeParse(id).success) return id as RequestId;
    } catch { /* not a JSON value after all */ }
  }
  return null;
}

function responseProblem(value: Record<string, unknown>): string | undefined {
  if ((JSONRPCMessageSchema as unknown as Schema).safeParse(value).success) return undefined;
  return `${INVALID} a response has "jsonrpc": "2.0", an "id", and a "result" object or an "error" with an integer "code" and a "message", nothing else.`;
}

const refuse = (answer: boolean, id: RequestId | null, code: ErrorCode, message: string): Checked => ({ ok: false, answer, id, code, message });

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A zod issue as one clause: "cursor must be a string (got 5)". */
function describeIssue(root: unknown, issue: Issue): string {
  const path = issue.path[0] === 'params' && issue.path.length > 1 ? issue.path.slice(1) : issue.path;
  const where = path.length === 0 ? 'the message' : path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');
  const got = `(got ${describeValue(valueAt(root, issue.path))})`;
  switch (issue.code) {
    case 'invalid_type':
      return `${where} must be ${expectedName(issue.expected)} ${got}`;
    case 'invalid_union': {
      const expected = (issue.errors ?? []).map((branch) => branch[0]).filter((i) => i?.code === 'invalid_type' && i.path.length === 0);
      if (expected.length > 0 && expected.length === issue.errors?.length) return `${where} must be ${expected.map((i) => expectedName(i!.expected)).join(' or ')} ${got}`;
      return `${where} is not valid ${got}`;
    }
    case 'invalid_value':
      return `${where} must be ${(issue.values ?? []).map((v) => JSON.stringify(v)).join(' or ')} ${got}`;
    case 'unrecognized_keys':
      return `${where} has unexpected member ${(issue.keys ?? []).map((k) => quote(k)).join(', ')}`;
    default:
      return `${where} is not valid (${issue.message.replace(/\.$/, '')})`;
  }
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let value = root;
  for (const key of path) value = isObject(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

const EXPECTED: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false', object: 'a JSON object', record: 'a JSON object', array: 'an array',
};
const expectedName = (expected: string | undefined): string => EXPECTED[expected ?? ''] ?? `of type ${expected}`;
