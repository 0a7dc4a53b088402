// The two routing baselines of the quality bench (bench/quality.bench.ts), in memory, kept here
// only to be measured against.
//
// What their docs say (/work/shared/legacy-ledgers/README.md, "The old tool surface" and
// "Defects of the old server"; no public copy of agent-mesh's own docs could be found):
// route_work(description, top_n = 1) answered {matches: [{agent_id, score, role, weight}]};
// the taxonomy was never used; feedback lived in memory and was applied after the top-n cut.
// The keyword formula is the one Meshfleet's first SQLite route_work used to reproduce the old
// tool (commit 3829d88, src/routing/route-work.ts, "a first, plain route_work"):
//   - keywords: the description lower-cased, split on anything but letters, digits, + # and .
//     (dots trimmed from the ends), minus a short stop-word list;
//   - an agent scores 2 for each keyword equal to one of its role's words, else 1 for each
//     keyword equal to one of its skills (lower-cased, whole); agents scoring 0 are left out;
//   - weight = 2 × (wins + 1) / (total + 2) over all of the agent's recorded outcomes, whatever
//     their key (Laplace-smoothed success rate, 1 with no history); score = base × weight;
//   - ties: agent id order.
// The two baselines differ only where their docs say they do:
//   - "old server" (agent-mesh, JSON ledger): ranks by the base score, cuts top_n, then
//     multiplies the survivors by their weight and re-sorts them: feedback never brings in an
//     agent the cut left out.
//   - "first SQLite version" (3829d88): multiplies by the weight before the cut.

export interface BaselineAgent {
  id: string;
  role: string;
  skills: string[];
}

const STOP_WORDS = new Set(['a', 'an', 'and', 'the', 'to', 'of', 'in', 'on', 'for', 'with', 'is', 'it', 'this', 'that', 'be', 'by', 'or', 'at', 'as', 'we', 'our', 'i', 'me', 'my', 'please', 'some', 'new']);

function keywords(text: string): string[] {
  return [...new Set(text.toLowerCase().split(/[^\p{L}\p{N}+#.]+/u).map((w) => w.replace(/^\.+|\.+$/g, ''))
    .filter((w) => w.length > 0 && !STOP_WORDS.has(w)))];
}

export interface BaselineMatch {
  agentId: string;
  score: number;
}

export class KeywordRouter {
  private readonly outcomes = new Map<string, { wins: number; total: number }>();

  constructor(readonly label: string, private readonly agents: readonly BaselineAgent[], private readonly weightBeforeCut: boolean) {}

  recordOutcome(agentId: string, success: boolean): void {
    const o = this.outcomes.get(agentId) ?? { wins: 0, total: 0 };
    this.outcomes.set(agentId, { wins: o.wins + (success ? 1 : 0), total: o.total + 1 });
  }

  private weight(agentId: string): number {
    const o = this.outcomes.get(agentId);
    return o === undefined ? 1 : (2 * (o.wins + 1)) / (o.total + 2);
  }

  route(description: string, topN: number): BaselineMatch[] {
    const words = keywords(description);
    const scored: BaselineMatch[] = [];
    for (const agent of this.agents) {
      const roleWords = keywords(agent.role);
      const skills = agent.skills.map((s) => s.toLowerCase());
      const base = words.reduce((sum, w) => sum + (roleWords.includes(w) ? 2 : skills.includes(w) ? 1 : 0), 0);
      if (base === 0) continue;
      scored.push({ agentId: agent.id, score: this.weightBeforeCut ? base * this.weight(agent.id) : base });
    }
    const order = (a: BaselineMatch, b: BaselineMatch) => b.score - a.score || (a.agentId < b.agentId ? -1 : 1);
    scored.sort(order);
    const kept = scored.slice(0, topN);
    if (this.weightBeforeCut) return kept;
    return kept.map((m) => ({ agentId: m.agentId, score: m.score * this.weight(m.agentId) })).sort(order);
  }
}
