// An agent on "another machine": a process that knows only an MCP URL and its token, and joins
// the mesh over Streamable HTTP. It waits for a handoff, acknowledges it, answers its sender,
// and finishes with the handoff's payload as its output. Usage: node remote-agent.mjs <url> <token>
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, token] = process.argv.slice(2);
const client = new Client({ name: 'remote-agent', version: '0' });
await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
const call = async (name, args = {}) => {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
  const json = JSON.parse(result.content[0].text);
  if (result.isError) throw new Error(`${name}: ${json.error}`);
  return json;
};
const { messages, timed_out } = await call('wait_for_messages', { timeout_ms: 60_000 });
if (timed_out) throw new Error('no handoff within 60 s');
const handoff = messages[0];
await call('ack_message', { message_id: handoff.id });
await call('send_message', { to_agent_id: handoff.from_agent_id, type: 'result', payload: `remote got: ${handoff.payload}` });
await call('finish_agent', { output: `remote done: ${handoff.payload}` });
await client.close();
process.stdout.write('finished\n');
