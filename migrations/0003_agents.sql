-- Where a task's agent works.
alter table tasks add column workdir text;

-- Agents found on this machine by the probe (the existing app's table). Not part of the log:
-- a cache of what the last probe saw, rewritten by each probe.
create table available_agents (
  name           text primary key,
  install_path   text not null,
  version        text,
  supports_acp   boolean not null default false,
  models         jsonb not null default '[]',
  label          text,
  transport      text not null default 'pty',
  last_probed_at timestamptz not null
);
