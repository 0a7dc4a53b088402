// Row types of migrations/ as kysely sees them. snake_case, as people query them with sqlite3.
import type { Generated } from 'kysely';

export type FleetStatus = 'pending' | 'running' | 'complete' | 'failed';
export type AgentStatus = 'pending' | 'running' | 'complete' | 'failed' | 'interrupted';
export type AgentProfile = 'worker' | 'lead';

export interface MetaTable { key: string; value: string }
export interface MigrationTable { version: number; name: string; applied_at: number }

export interface FleetTable {
  id: string;
  status: FleetStatus;
  created_at: number;
  completed_at: number | null;
  timeout_ms: number | null;
}

export interface AgentTable {
  id: string;
  fleet_id: string;
  role: string;
  prompt: string;
  agent_file: string | null;
  status: AgentStatus;
  pid: number | null;
  retry_count: Generated<number>;
  output: string | null;
  error: string | null;
  created_at: number | null;
  started_at: number | null;
  completed_at: number | null;
  attempts: Generated<number>;
  supervisor_id: string | null;
  pid_start: string | null;
  profile: Generated<AgentProfile>;
  /** Hex SHA-256 of the agent's MESHFLEET_AGENT_TOKEN; null for agents from before schema 4. */
  token_hash: string | null;
  /** Its own git worktree (schema 6): null for agents that share the server's folder. */
  /** The spawning server's folder, where an agent without a worktree runs (schema 8). */
  work_dir: Generated<string | null>;
  workspace_repo: Generated<string | null>;
  workspace_path: Generated<string | null>;
  workspace_branch: Generated<string | null>;
  workspace_base: Generated<string | null>;
  workspace_state: Generated<WorkspaceState | null>;
  /** 'remote': runs elsewhere and connects over HTTP (schema 12); null: a process the hub starts. */
  runtime: 'remote' | null;
  /** Epoch ms of its latest authenticated HTTP request (schema 12). */
  last_seen_at: number | null;
}

export interface OperatorTokenTable {
  id: Generated<number>;
  name: string | null;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export type WorkspaceState = 'active' | 'removed' | 'kept';

export interface SupervisorTable {
  id: string;
  pid: number;
  pid_start: string | null;
  started_at: number;
  heartbeat_at: number;
}

export interface HubLeaseTable {
  slot: number;
  hub_id: string;
  pid: number;
  pid_start: string | null;
  started_at: number;
  heartbeat_at: number;
  listen: string | null;
  log_path: string | null;
  stop_request: 'stop' | 'drain' | null;
}

export interface MessageTable {
  seq: Generated<number>;
  id: string;
  fleet_id: string;
  from_agent_id: string;
  to_agent_id: string;
  type: string;
  payload: string;
  correlation_id: string | null;
  sent_at: number;
  /** Schema 11: an optional subject, and the thread the message belongs to (migration 0011). */
  subject: string | null;
  thread_id: string | null;
}

export interface DeliveryTable {
  message_seq: number;
  agent_id: string;
  acked: Generated<0 | 1>;
  read_at: number | null;
  acked_at: number | null;
  /** The message's sent_at (schema 5); filled from the message when an insert leaves it out. */
  sent_at: number | null;
}

export interface CapabilityTable {
  agent_id: string;
  fleet_id: string | null;
  role: string;
  model: string | null;
  context_window: number | null;
  registered_at: number;
}

export interface CapabilitySkillTable { agent_id: string; position: number; skill: string }
export interface CapabilityTermTable { term: string; agent_id: string; field: 'role' | 'skill'; source: string }
export interface SkillTable { id: Generated<number>; name: string; parent_id: number | null }
export interface SkillClosureTable { ancestor_id: number; descendant_id: number; depth: number }
export interface SynonymTable { term: string; synonym: string }

export interface RoutingOutcomeTable {
  id: Generated<number>;
  agent_id: string;
  capability_key: string;
  succeeded: 0 | 1;
  recorded_at: number;
}

export interface TemplateTable {
  name: string;
  version: number;
  description: string | null;
  created_at: number | null;
}

export interface TemplateAgentTable {
  template_name: string;
  template_version: number;
  position: number;
  role: string;
  prompt: string;
  agent: string | null;
  profile: AgentProfile | null;
}

export interface ReceiptTable {
  message_id: string;
  agent_id: string;
  action: string;
  recorded_at: number;
  note: string | null;
}

export type CouncilOutcome = 'ratified' | 'rejected' | 'expired';
export type CouncilSilence = 'abstain' | 'approve';

export interface CouncilTable {
  message_id: string;
  fleet_id: string;
  proposer_id: string;
  subject: string;
  quorum: number;
  silence: CouncilSilence;
  opened_at: number;
  deadline_at: number | null;
  outcome: CouncilOutcome | null;
  decided_at: number | null;
  reason: string | null;
}

export interface CouncilVoterTable { council_id: string; agent_id: string; weight: number; required: 0 | 1 }

export interface CouncilVoteTable {
  id: Generated<number>;
  council_id: string;
  agent_id: string;
  approve: 0 | 1;
  note: string | null;
  cast_at: number;
  superseded_at: number | null;
}

export interface EventTable {
  id: Generated<number>;
  kind: string;
  fleet_id: string | null;
  agent_id: string | null;
  data: string | null;
  recorded_at: number;
}

export interface SendKeyTable {
  fleet_id: string;
  idempotency_key: string;
  request_sha256: string;
  result: string;
  created_at: number;
}

export interface LegacyImportTable {
  id: Generated<number>;
  source_path: string;
  sha256: string;
  schema_version: 0 | 1 | 2;
  imported_at: number;
  report: string;
}

export interface LegacyExtraTable { kind: string; record_key: string; body: string }

export type TaskStatus = 'open' | 'claimed' | 'done' | 'failed' | 'blocked';

export interface TaskTable {
  seq: Generated<number>;
  id: string;
  fleet_id: string;
  title: string;
  description: string;
  priority: Generated<number>;
  status: Generated<TaskStatus>;
  created_by: string | null;
  created_at: number;
  updated_at: number;
  finished_by: string | null;
  finished_at: number | null;
  result: string | null;
  blocked_reason: string | null;
}

export interface TaskSkillTable { task_id: string; position: number; skill: string }
export interface TaskDependencyTable { task_id: string; depends_on_id: string }
export interface TaskClaimTable { task_id: string; agent_id: string; claimed_at: number; expires_at: number }

export interface ReadyTaskView { fleet_id: string; task_id: string; title: string; priority: number; created_at: number; skills: string | null }

export interface InboxView {
  agent_id: string;
  message_id: string;
  fleet_id: string;
  from_agent_id: string;
  type: string;
  payload: string;
  correlation_id: string | null;
  sent_at: number;
}

export interface FleetSummaryView {
  fleet_id: string;
  status: FleetStatus;
  created_at: number;
  completed_at: number | null;
  agents: number;
  agents_pending: number;
  agents_running: number;
  agents_complete: number;
  agents_failed: number;
  agents_interrupted: number;
  messages: number;
}

export interface FileReservationTable {
  id: Generated<number>;
  fleet_id: string;
  agent_id: string;
  /** A git wildmatch pattern relative to the repository root. */
  pattern: string;
  exclusive: 0 | 1;
  reason: string;
  created_at: number;
  expires_at: number;
  released_at: number | null;
  /** The holder's id, or who forced the release ('operator', or a lead's id). */
  released_by: string | null;
}

/** One link of the hash chain over messages and events (migrations/NNNN-ledger-chain.sql). */
export interface LedgerChainTable {
  position: number;
  ref_table: 'messages' | 'events';
  ref_id: number;
  fleet_id: string | null;
  row_hash: string;
  chain_hash: string;
  pruned_at: number | null;
}

/** agent_scores (schema 13): route_work's outcome factor per agent and lower-cased capability key. */
export interface AgentScoresView {
  agent_id: string;
  fleet_id: string | null;
  role: string | null;
  capability_key: string;
  successes: number;
  failures: number;
  outcomes: number;
  wilson_lower: number;
  wilson_upper: number;
  factor: number;
  last_recorded_at: number;
}

/** recent_events (schema 13): events newest first, with `at` as UTC text. */
export interface RecentEventsView {
  id: number;
  at: string;
  kind: string;
  fleet_id: string | null;
  agent_id: string | null;
  data: string | null;
  recorded_at: number;
}

/** agent_summary (schema 13). */
export interface AgentSummaryView {
  agent_id: string;
  fleet_id: string;
  role: string;
  profile: AgentProfile;
  status: AgentStatus;
  attempts: number;
  pid: number | null;
  started_at: number | null;
  completed_at: number | null;
  run_ms: number | null;
  messages_sent: number;
  inbox_pending: number;
  error: string | null;
}

export interface Schema {
  meshfleet_meta: MetaTable;
  meshfleet_migrations: MigrationTable;
  fleets: FleetTable;
  agents: AgentTable;
  supervisors: SupervisorTable;
  hub_lease: HubLeaseTable;
  messages: MessageTable;
  deliveries: DeliveryTable;
  capabilities: CapabilityTable;
  capability_skills: CapabilitySkillTable;
  capability_terms: CapabilityTermTable;
  skills: SkillTable;
  skill_closure: SkillClosureTable;
  synonyms: SynonymTable;
  routing_outcomes: RoutingOutcomeTable;
  templates: TemplateTable;
  template_agents: TemplateAgentTable;
  receipts: ReceiptTable;
  councils: CouncilTable;
  council_voters: CouncilVoterTable;
  council_votes: CouncilVoteTable;
  events: EventTable;
  send_keys: SendKeyTable;
  operator_tokens: OperatorTokenTable;
  legacy_imports: LegacyImportTable;
  legacy_extras: LegacyExtraTable;
  ledger_chain: LedgerChainTable;
  tasks: TaskTable;
  task_skills: TaskSkillTable;
  task_dependencies: TaskDependencyTable;
  task_claims: TaskClaimTable;
  ready_tasks: ReadyTaskView;
  inbox: InboxView;
  fleet_summary: FleetSummaryView;
  file_reservations: FileReservationTable;
  agent_scores: AgentScoresView;
  recent_events: RecentEventsView;
  agent_summary: AgentSummaryView;
}
