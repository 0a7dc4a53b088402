// The test agent's `team` mode: one seat of a fleet written for real agents (examples/), played
// without an LLM. It reads two things from its prompt, both written so that a real agent would
// follow them too: "Skills: a, b, c" (what it registers with register_capability; its role when
// absent) and, for the first seat, `route_work "<task>"` (a follow-up handed to whoever
// route_work ranks first). The rest of the prompt is not acted on; its first sentence names the
// seat's step in messages.
//
// The first seat (the lead of the run) broadcasts the plan, hands the work to the second seat,
// waits for the last seat's result, routes the follow-up, waits for its answer and broadcasts
// "done". Every other seat passes each handoff to the next seat (the last seat reports to the
// first), answers routed tasks, and finishes at the "done" broadcast.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { AgentEnvironment } from '../config.js';
import { call, connectOwnServer } from './test-agent-client.js';

/** Longer than any demo run; a seat still waiting then has been forgotten, and fails. */
const TEAM_DEADLINE_MS = 50_000;

interface Seat { id: string; role: string; profile: string }
interface Message { id: string; from_agent_id: string; type: string; payload: string; correlation_id: string | null }

export async function team(given: AgentEnvironment): Promise<string> {
  const client = await connectOwnServer(given);
  try {
    await call(client, 'register_capability', { role: given.role, skills: skillsIn(given.prompt, given.role) });
    const { agents } = await call(client, 'fleet_status', {});
    const seats: Seat[] = agents.map((a: Seat) => ({ id: a.id, role: a.role, profile: a.profile }));
    const me = seats.findIndex((s) => s.id === given.agentId);
    const seat = new TeamSeat(client, seats, me, given.prompt);
    return me === 0 ? await seat.lead() : await seat.follow();
  } finally {
    await client.close();
  }
}

/** "Skills: react, css." → ["react", "css"]; the role alone when the prompt names none. */
export function skillsIn(prompt: string, role: string): string[] {
  const listed = /\bskills:\s*([^.\n]+)/i.exec(prompt)?.[1];
  const skills = (listed ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0 && s.length <= 64);
  return skills.length > 0 ? skills.slice(0, 64) : [role.slice(0, 64)];
}

/** The follow-up task of a `route_work "<task>"` instruction, if the prompt has one. */
export function routedTaskIn(prompt: string): string | undefined {
  return /route_work\s+"([^"\n]{1,4000})"/i.exec(prompt)?.[1];
}

/** The prompt's first sentence, at most 40 characters: how this seat's step is named in messages. */
function stepOf(prompt: string, role: string): string {
  // A sentence ends at ".", "!" or "?" before a space: "CHANGE.md" does not end one.
  const sentence = /^.*?(?=[.!?](?:\s|$)|\n|$)/s.exec(prompt.trim())?.[0]?.trim() ?? '';
  if (sentence === '') return role;
  return sentence.length <= 40 ? sentence : `${sentence.slice(0, 39)}…`;
}

class TeamSeat {
  private readonly deadline = Date.now() + TEAM_DEADLINE_MS;
  private readonly done: string[] = [];

  constructor(private readonly client: Client, private readonly seats: Seat[], private readonly me: number, private readonly prompt: string) {}

  private get self(): Seat { return this.seats[this.me]!; }
  private get step(): string { return stepOf(this.prompt, this.self.role); }

  private send(to: string, type: string, payload: string, correlationId?: string): Promise<{ message_id: string }> {
    return call(this.client, 'send_message', { to_agent_id: to, type, payload, ...(correlationId ? { correlation_id: correlationId } : {}) });
  }

  /** Waits for the next unacknowledged messages, acknowledges them, and returns them oldest first. */
  private async next(waitingFor: string): Promise<Message[]> {
    for (;;) {
      const left = this.deadline - Date.now();
      if (left <= 0) throw new Error(`gave up waiting for ${waitingFor} after ${TEAM_DEADLINE_MS / 1000} s`);
      const { messages } = await call(this.client, 'wait_for_messages', { timeout_ms: Math.min(left, 20_000) });
      if (messages.length === 0) continue;
      for (const m of messages as Message[]) await call(this.client, 'ack_message', { message_id: m.id });
      return messages;
    }
  }

  /** Hands the work to the next seat, or reports to the first when this is the last. */
  private async passOn(): Promise<void> {
    const next = this.seats[this.me + 1];
    const work = `step ${this.me + 1} of ${this.seats.length} done by ${this.self.role} ("${this.step}")`;
    if (next !== undefined) await this.send(next.id, 'handoff', `over to ${next.role}: ${work}`);
    else await this.send(this.seats[0]!.id, 'result', `pipeline finished: ${work}`);
    this.done.push(next !== undefined ? `handed to ${next.role}` : `reported to ${this.seats[0]!.role}`);
  }

  async lead(): Promise<string> {
    const others = this.seats.slice(1);
    const task = routedTaskIn(this.prompt);
    const chain = this.seats.map((s) => s.role).join(' → ');
    if (others.length > 0) await this.send('*', 'alert', `plan: ${chain}${task ? `, then route_work "${task}"` : ''}`);
    if (others.length > 0) {
      await this.passOn();
      await this.until('the pipeline\'s result', (m) => m.type === 'result');
    }
    if (task !== undefined) await this.route(task);
    if (others.length > 0) await this.send('*', 'alert', 'done: the fleet\'s work is finished; thank you all');
    return `${this.self.role}: ${[...this.done, 'finished the fleet'].join(', ')}`;
  }

  private async route(task: string): Promise<void> {
    const { matches } = await call(this.client, 'route_work', { description: task, top_n: 5 });
    const pick = (matches as { agent_id: string; role: string; score: number; matched: string[] }[]).find((m) => m.agent_id !== this.self.id);
    if (pick === undefined) {
      this.done.push(`did "${task}" itself (route_work ranked no one else)`);
      return;
    }
    const asked = await this.send(pick.agent_id, 'request_help', `task: ${task} (route_work ranked ${pick.role} first, score ${pick.score})`);
    await this.until(`${pick.role}'s answer`, (m) => m.type === 'result' && m.correlation_id === asked.message_id);
    this.done.push(`routed "${task}" to ${pick.role}`);
    if (this.self.profile === 'lead') {
      // A lead may record how routed work went; it adjusts that agent's future scores.
      await call(this.client, 'record_routing_outcome', { agent_id: pick.agent_id, capability_key: pick.matched[0] ?? pick.role, success: true });
    }
  }

  /** Reads messages until one matches; a lead is handed nothing else it must act on. */
  private async until(what: string, wanted: (m: Message) => boolean): Promise<void> {
    for (;;) if ((await this.next(what)).some(wanted)) return;
  }

  async follow(): Promise<string> {
    for (;;) {
      for (const m of await this.next('the lead\'s "done"')) {
        if (m.type === 'handoff') await this.passOn();
        else if (m.type === 'request_help') {
          const task = m.payload.replace(/^task: /, '').replace(/ \(route_work .*\)$/, '');
          await this.send(m.from_agent_id, 'result', `done: ${task}`, m.id);
          this.done.push(`did "${task}"`);
        } else if (m.type === 'alert' && m.payload.startsWith('done:')) {
          return `${this.self.role}: ${this.done.join(', ') || 'nothing asked of it'}`;
        }
      }
    }
  }
}
