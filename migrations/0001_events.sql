-- The event log: the only source of truth. Every read table is derived from it.

-- One row per stream: its type and head version. Appends move the head with a
-- compare-and-set (`where version = expected`), which is the optimistic concurrency check
-- and serialises writers of one stream without locking anyone else.
create table streams (
  stream_id   uuid primary key,
  stream_type text not null check (stream_type in ('task', 'agent_session', 'flow_run')),
  version     int  not null check (version >= 0),
  created_at  timestamptz not null default clock_timestamp(),
  updated_at  timestamptz not null default clock_timestamp()
);

create table events (
  position    bigint generated always as identity primary key, -- global order, may have gaps
  tx_id       xid8 not null default pg_current_xact_id(),      -- for gap-safe readers
  stream_type text not null check (stream_type in ('task', 'agent_session', 'flow_run')),
  stream_id   uuid not null,
  version     int  not null check (version > 0),               -- 1, 2, 3 … per stream
  type        text not null check (type like stream_type || '.%'),
  data        jsonb not null check (jsonb_typeof(data) = 'object'),
  meta        jsonb not null default '{}' check (jsonb_typeof(meta) = 'object'),
  created_at  timestamptz not null default clock_timestamp(),
  unique (stream_id, version)
);

-- Gap-safe global reads walk (tx_id, position) below the oldest running transaction.
create index events_tx_position on events (tx_id, position);

-- Cached states of streams; deleting every row changes no answer, only speed.
create table snapshots (
  stream_id       uuid not null,
  version         int  not null check (version > 0),
  machine_version text not null,
  state           jsonb not null,
  created_at      timestamptz not null default clock_timestamp(),
  primary key (stream_id, version)
);
