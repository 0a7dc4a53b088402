#!/usr/bin/env node
// A stand-in for a real coding agent, for tests and `meshfleet demo`: started by the command
// runtime (MESHFLEET_AGENT_COMMAND="node .../test-agent.js"), it joins the mesh through its own
// `meshfleet serve` (launched with the environment it was given, so that server acts as this
// agent), does what its prompt says, prints its output and exits.
//
// Prompts: "pipeline" (wait for the previous agent's handoff, unless first; pass it on to the
// next agent of the fleet), "fail", "flaky:<marker file>" (fail the first attempt),
// "hang-once:<marker file>" (hang in the first attempt), "sleep:<ms>", "ignore-term:<file>" (note
// each SIGTERM in the file and carry on, until killed), "leave-child:<file>" (start a child that
// holds this agent's stdout and stderr for 20 s, write its pid to <file>, finish at once; as
// OpenCode leaves language servers), "print:<bytes>" (print that many bytes, the last ten
// "0123456789"), anything else (print the role and finish).
// Prefixes, followed by a space and the prompt to go on with: "after:<file>" (write <file>.waiting,
// wait until <file> exists), "record-env:<file>" (append this attempt's MESHFLEET_AGENT_TOKEN and
// whether MESHFLEET_AUTH_TOKEN is set, as a JSON line).
// With the argument `team` (MESHFLEET_AGENT_COMMAND="node .../test-agent.js team"), the prompt is
// read as a real agent's instructions instead: see test-agent-team.ts.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { readAgentEnvironment } from '../config.js';
import { call, connectOwnServer } from './test-agent-client.js';
import { team } from './test-agent-team.js';

const given = readAgentEnvironment(process.env);
const { role, prompt } = given;

async function pipeline(): Promise<string> {
  const client = await connectOwnServer(given);
  try {
    const me = given.agentId!;
    const { agents } = await call(client, 'fleet_status', { fleet_id: given.fleetId });
    const order: string[] = agents.map((a: { id: string }) => a.id);
    const position = order.indexOf(me);
    let work = role;
    if (position > 0) {
      const { messages, timed_out } = await call(client, 'wait_for_messages', { timeout_ms: 60_000 });
      if (timed_out) throw new Error('no handoff arrived within 60 s');
      const handoff = messages.find((m: { type: string }) => m.type === 'handoff') ?? messages[0];
      await call(client, 'ack_message', { message_id: handoff.id });
      work = `${handoff.payload} > ${role}`;
    }
    const next = order[position + 1];
    if (next !== undefined) await call(client, 'send_message', { to_agent_id: next, type: 'handoff', payload: work });
    return work;
  } finally {
    await client.close();
  }
}

/** "<prefix><argument> <rest>" → [argument, rest]. */
function splitPrefix(text: string, prefix: string): [string, string] {
  const body = text.slice(prefix.length);
  const space = body.indexOf(' ');
  return space === -1 ? [body, ''] : [body.slice(0, space), body.slice(space + 1)];
}

async function main(prompt: string): Promise<void> {
  if (prompt.startsWith('after:')) {
    const [file, rest] = splitPrefix(prompt, 'after:');
    writeFileSync(`${file}.waiting`, `${process.pid}\n`);
    while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 25));
    return main(rest);
  }
  if (prompt.startsWith('record-env:')) {
    const [file, rest] = splitPrefix(prompt, 'record-env:');
    const seen = { agent_token: given.agentToken ?? null, auth_token_set: given.hasOperatorToken };
    appendFileSync(file, `${JSON.stringify(seen)}\n`);
    return main(rest);
  }
  if (prompt === 'pipeline') {
    process.stdout.write(`${await pipeline()}\n`);
  } else if (prompt === 'fail') {
    process.stderr.write(`${role}: failing on purpose\n`);
    process.exitCode = 2;
  } else if (prompt.startsWith('flaky:')) {
    const marker = prompt.slice('flaky:'.length);
    if (!existsSync(marker)) {
      writeFileSync(marker, 'failed once\n');
      process.stderr.write(`${role}: flaky failure\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write(`${role}: recovered\n`);
    }
  } else if (prompt.startsWith('hang-once:')) {
    // The first attempt hangs (until killed); any later attempt finishes at once.
    const marker = prompt.slice('hang-once:'.length);
    if (!existsSync(marker)) {
      writeFileSync(marker, `${process.pid}\n`);
      process.stdout.write(`${role}: hanging\n`);
      await new Promise((resolve) => setTimeout(resolve, 120_000));
    }
    process.stdout.write(`${role}: done after a restart\n`);
  } else if (prompt.startsWith('ignore-term:')) {
    const file = prompt.slice('ignore-term:'.length);
    process.on('SIGTERM', () => appendFileSync(file, 'SIGTERM\n'));
    appendFileSync(file, 'ready\n');
    process.stdout.write(`${role}: ignoring SIGTERM\n`);
    await new Promise((resolve) => setTimeout(resolve, 120_000));
  } else if (prompt.startsWith('leave-child:')) {
    // Same process group, stdout and stderr inherited: the pipes stay open after this process exits.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20_000)'], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.unref();
    writeFileSync(prompt.slice('leave-child:'.length), `${child.pid}\n`);
    process.stdout.write(`${role}: done, a child still holds my output\n`);
  } else if (prompt.startsWith('print:')) {
    const bytes = Number(prompt.slice('print:'.length));
    process.stdout.write(`${'.'.repeat(bytes - 10)}0123456789`);
  } else if (prompt.startsWith('sleep:')) {
    process.stdout.write(`${role}: sleeping\n`);
    await new Promise((resolve) => setTimeout(resolve, Number(prompt.slice('sleep:'.length))));
    process.stdout.write(`${role}: woke\n`);
  } else {
    process.stdout.write(`${role}: done\n`);
  }
}

// `test-agent.js team`: whatever the prompt, play a seat of a team (see test-agent-team.ts), so a
// template written for real agents (examples/) runs with this stand-in.
const run = process.argv[2] === 'team' ? team(given).then((out) => { process.stdout.write(`${out}\n`); }) : main(prompt);
run.catch((err: Error) => {
  process.stderr.write(`${role}: ${err.message}\n`);
  process.exitCode = 1;
});
