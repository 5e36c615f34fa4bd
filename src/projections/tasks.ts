/** The `tasks` read table: one row per task stream. */
import { DEFAULT_MAX_ATTEMPTS, LEASE_EXPIRED_ERROR } from '../machines/task.ts';
import type { StoredEvent } from '../store/types.ts';
import { at, requireRow, stateAfter, type Projection, type Row } from './types.ts';

const COLUMNS = [
  'id',
  'project_id',
  'parent_task_id',
  'run_id',
  'step_id',
  'state',
  'input',
  'output_summary',
  'error',
  'agent',
  'model',
  'execution_path',
  'cost_tokens',
  'input_tokens',
  'output_tokens',
  'output_chunks',
  'started_at',
  'ended_at',
  'created_at',
  'session_id',
  'chat_id',
  'arena_id',
  'mode_id',
  'thinking_option_id',
  'attempts',
  'max_attempts',
  'lease_owner',
  'lease_expires_at',
  'priority',
  'version',
  'updated_at',
  'workdir',
] as const;

const noLease = { lease_owner: null, lease_expires_at: null };

function created(event: StoredEvent): Row {
  const d = event.data;
  const opt = (name: string) => d[name] ?? null;
  return {
    id: event.streamId,
    project_id: opt('project_id'),
    parent_task_id: opt('parent_task_id'),
    run_id: opt('run_id'),
    step_id: opt('step_id'),
    state: 'pending',
    input: d.input!,
    output_summary: null,
    error: null,
    agent: opt('agent'),
    model: opt('model'),
    execution_path: null,
    cost_tokens: 0,
    input_tokens: 0,
    output_tokens: 0,
    output_chunks: 0,
    started_at: null,
    ended_at: null,
    created_at: at(event),
    session_id: opt('session_id'),
    chat_id: opt('chat_id'),
    arena_id: opt('arena_id'),
    mode_id: opt('mode_id'),
    thinking_option_id: opt('thinking_option_id'),
    attempts: 0,
    max_attempts: d.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    ...noLease,
    priority: d.priority ?? 0,
    version: event.version,
    updated_at: at(event),
    workdir: opt('workdir'),
  };
}

/** What each event changes beyond state, attempts, version and updated_at. */
function changes(row: Row, event: StoredEvent, state: string): Row {
  const d = event.data;
  switch (event.type) {
    case 'task.claimed':
      return {
        lease_owner: d.worker_id!,
        lease_expires_at: d.lease_expires_at!,
        output_summary: null,
        error: null,
        ended_at: null,
      };
    case 'task.started':
      return {
        agent: d.agent!,
        model: d.model ?? null,
        execution_path: d.execution_path!,
        started_at: at(event),
      };
    case 'task.output_appended':
      return { output_chunks: (row.output_chunks as number) + 1 };
    case 'task.usage_recorded':
      return {
        cost_tokens: (row.cost_tokens as number) + (d.cost_tokens as number),
        input_tokens: (row.input_tokens as number) + (d.input_tokens as number),
        output_tokens: (row.output_tokens as number) + (d.output_tokens as number),
      };
    case 'task.lease_extended':
      return { lease_expires_at: d.lease_expires_at! };
    case 'task.completed':
      return { ...noLease, output_summary: d.output_summary!, error: null, ended_at: at(event) };
    case 'task.failed':
      return {
        ...noLease,
        error: d.error!,
        output_summary: d.output_summary ?? null,
        ended_at: at(event),
      };
    case 'task.retried':
      return { error: null, output_summary: null, ended_at: null };
    case 'task.cancelled':
      return { ...noLease, error: d.reason ?? 'cancelled', ended_at: at(event) };
    case 'task.lease_expired':
      return state === 'failed'
        ? { ...noLease, error: LEASE_EXPIRED_ERROR, ended_at: at(event) }
        : noLease;
    case 'task.released':
      return noLease;
    default: // blocked, request_answered, dismissed: the state says it all
      return {};
  }
}

export const tasksProjection: Projection = {
  table: 'tasks',
  key: ['id'],
  columns: COLUMNS,
  streamTypes: ['task'],
  keysOf: (event) => [{ id: event.streamId }],
  evolve(row, event) {
    if (event.type === 'task.created') return created(event);
    const before = requireRow(row, 'tasks', event);
    const after = stateAfter(event);
    return {
      ...before,
      ...changes(before, event, after.value),
      state: after.value,
      attempts: after.attempts as number,
      version: event.version,
      updated_at: at(event),
    };
  },
};
