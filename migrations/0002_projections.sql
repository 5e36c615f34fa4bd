-- Read tables, each written only by its projection (src/projections/) and rebuildable
-- from the event log. Columns keep the existing app's names where they apply.

-- A fourth actor kind: file changes awaiting review outlive their task.
alter table streams drop constraint streams_stream_type_check,
  add constraint streams_stream_type_check
  check (stream_type in ('task', 'agent_session', 'flow_run', 'pending_change'));
alter table events drop constraint events_stream_type_check,
  add constraint events_stream_type_check
  check (stream_type in ('task', 'agent_session', 'flow_run', 'pending_change'));

create table tasks (
  id                 uuid primary key,
  project_id         uuid,
  parent_task_id     uuid,
  run_id             uuid,
  step_id            text,
  state              text not null
    check (state in ('pending', 'running', 'completed', 'failed', 'blocked', 'cancelled')),
  input              text not null,
  output_summary     text,
  error              text,
  agent              text,
  model              text,
  execution_path     text
    check (execution_path is null or execution_path in ('native', 'acp', 'pty', 'qwen', 'openai', 'scripted')),
  cost_tokens        bigint not null,
  input_tokens       bigint not null,
  output_tokens      bigint not null,
  output_chunks      int not null,
  started_at         timestamptz,
  ended_at           timestamptz,
  created_at         timestamptz not null,
  session_id         uuid,
  chat_id            uuid,
  arena_id           uuid,
  mode_id            text,
  thinking_option_id text,
  attempts           int not null,
  max_attempts       int not null,
  lease_owner        text,
  lease_expires_at   timestamptz,
  priority           int not null,
  version            int not null,   -- the stream version this row reflects
  updated_at         timestamptz not null
);
-- The dispatcher's claim: pending tasks by priority, then age.
create index tasks_pending_queue on tasks (priority desc, created_at, id) where state = 'pending';
-- The lease sweeper: running or blocked tasks by deadline.
create index tasks_lease_deadline on tasks (lease_expires_at) where state in ('running', 'blocked');
-- GET /api/tasks: newest first (cursor on created_at, id), optionally per project.
create index tasks_newest on tasks (created_at desc, id desc);
create index tasks_project_newest on tasks (project_id, created_at desc, id desc);
create index tasks_parent on tasks (parent_task_id) where parent_task_id is not null;

create table flow_runs (
  id          uuid primary key,
  project_id  uuid,
  flow_name   text not null,
  band        text not null check (band in ('small', 'medium', 'large')),
  model       text,
  status      text not null check (status in ('running', 'completed', 'failed', 'cancelled')),
  input       jsonb not null check (input ? 'question'),
  report      text,
  error       text,
  created_at  timestamptz not null,
  ended_at    timestamptz,
  updated_at  timestamptz not null,
  version     int not null
);
create index flow_runs_project_newest on flow_runs (project_id, created_at desc);
create index flow_runs_newest on flow_runs (created_at desc);

create table flow_steps (
  run_id      uuid not null,
  step_id     text not null,
  kind        text not null check (kind in ('agent', 'code')),
  agent       text,
  optional    boolean not null,
  depends_on  jsonb not null,
  status      text not null
    check (status in ('pending', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
  task_id     uuid,
  input       jsonb not null,
  output      text,
  error       text,
  created_at  timestamptz not null,
  updated_at  timestamptz not null,
  primary key (run_id, step_id)
);
create index flow_steps_run_status on flow_steps (run_id, status);
create index flow_steps_task on flow_steps (task_id) where task_id is not null;

create table agent_sessions (
  id               uuid primary key,   -- the session's stream id
  chat_id          uuid not null,
  agent            text not null,
  backend          text not null,
  agent_session_id text,
  status           text not null check (status in ('idle', 'active', 'crashed', 'closed')),
  config_hash      text not null,
  turns            int not null,
  input_tokens     bigint not null,
  output_tokens    bigint not null,
  cost             numeric not null,
  crash_reason     text,
  last_active_at   timestamptz not null,
  created_at       timestamptz not null,
  version          int not null
);
-- One open backend session per (chat, agent).
create unique index agent_sessions_open_per_chat_agent on agent_sessions (chat_id, agent)
  where status <> 'closed';

create table pending_changes (
  id          uuid primary key,   -- the change's stream id
  session_id  uuid,
  task_id     uuid not null,
  file_path   text not null,
  operation   text not null check (operation in ('create', 'edit', 'delete')),
  diff        text not null,
  status      text not null check (status in ('pending', 'applied', 'rejected', 'reverted')),
  agent       text,
  reason      text,
  created_at  timestamptz not null,
  updated_at  timestamptz not null,
  version     int not null
);
create index pending_changes_task on pending_changes (task_id, created_at);
create index pending_changes_session on pending_changes (session_id, created_at) where session_id is not null;

-- One row per thing waiting for a person; `actions` says what resolves it.
create table human_inbox (
  id          uuid primary key,   -- the stream id of the task or change that waits
  kind        text not null check (kind in ('permission', 'question', 'failed_task', 'pending_change')),
  task_id     uuid not null,
  change_id   uuid,
  request_id  text,
  prompt      text not null,
  options     jsonb not null,
  actions     jsonb not null,
  details     jsonb not null,
  created_at  timestamptz not null,
  version     int not null
);
create index human_inbox_newest on human_inbox (created_at desc);

-- Where each asynchronous projection has read the log up to, written in the same
-- transaction as its rows.
create table projection_checkpoints (
  name        text primary key,
  tx_id       xid8 not null,
  position    bigint not null,
  updated_at  timestamptz not null default clock_timestamp()
);
