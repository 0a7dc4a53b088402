// How `meshfleet demo` tells what happens: one plain line per event or message, timed from the
// start of the demo, agents named by role. No colour or cursor tricks, so a pipe or a log file
// reads the same as the terminal.
import type { Activity } from '../mesh/activity.js';

const PAYLOAD_CHARS = 100;

export class Narrator {
  private readonly labels = new Map<string, string>();
  private width = 4;

  constructor(private readonly out: NodeJS.WritableStream, private readonly startedAt: number) {}

  /** Names agents by role ("coder", or "coder#2" when a role repeats), in spawn order. */
  nameAgents(agents: readonly { id: string; role: string }[]): void {
    const seen = new Map<string, number>();
    for (const { id, role } of agents) {
      const n = (seen.get(role) ?? 0) + 1;
      seen.set(role, n);
      this.labels.set(id, n === 1 ? role : `${role}#${n}`);
    }
    this.width = Math.max(this.width, ...[...this.labels.values()].map((l) => l.length));
  }

  label(agentId: string | null): string {
    return agentId === null ? 'fleet' : this.labels.get(agentId) ?? agentId;
  }

  /** A line said by the host (this demo, calling tools), or by an agent. */
  say(who: string, text: string, at: number = Date.now()): void {
    this.out.write(`${seconds(at - this.startedAt).padStart(7)}  ${who.padEnd(this.width)}  ${text}\n`);
  }

  tell(item: Activity): void {
    if (item.kind === 'message') {
      const to = item.toAgentId === '*' ? 'everyone' : this.label(item.toAgentId);
      this.say(this.label(item.fromAgentId), `→ ${to}  ${item.type}: ${oneLine(item.payload, PAYLOAD_CHARS)}`, item.at);
      return;
    }
    const text = eventText(item.event, item.data);
    if (text !== undefined) this.say(this.label(item.agentId), text, item.at);
  }
}

/** What an event means to a reader; undefined for those the demo already says itself (the spawn). */
function eventText(event: string, data: Record<string, unknown>): string | undefined {
  switch (event) {
    case 'fleet_created': case 'agent_spawned': case 'messages_sent': return undefined;
    case 'agent_started': return `started (pid ${String(data.pid)}${Number(data.attempt) > 1 ? `, attempt ${String(data.attempt)}` : ''})`;
    case 'capability_registered': return `register_capability: ${String(data.role)}, skills ${(data.skills as string[] | undefined)?.join(', ') ?? ''}`;
    case 'routing_outcome_recorded': return `routing outcome recorded for it: ${data.success ? 'success' : 'failure'} at "${String(data.capability_key)}"`;
    case 'agent_finished': return 'finished (exit 0)';
    case 'agent_failed': return `failed: ${oneLine(String(data.error ?? ''), PAYLOAD_CHARS)}`;
    case 'agent_retried': return `attempt ${String(data.failed_attempt)} failed; retrying in ${String(data.delay_ms)} ms`;
    case 'agent_interrupted': return 'interrupted';
    case 'agent_timed_out': return 'stopped: it ran past its timeout';
    case 'fleet_settled': return String(data.status);
    default: return event.replace(/_/g, ' ');
  }
}

export function oneLine(text: string, chars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= chars ? flat : `${flat.slice(0, chars - 1)}…`;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;
