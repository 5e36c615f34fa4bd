/**
 * The `human_inbox` read table: one row per thing waiting for a person, keyed by the stream
 * that waits. A blocked task (its permission request or question), a failed task not yet
 * retried or dismissed, a change awaiting review. The row goes when what it waits for happens.
 */
import { LEASE_EXPIRED_ERROR } from '../machines/task.ts';
import type { StoredEvent } from '../store/types.ts';
import { at, stateAfter, type Projection, type Row } from './types.ts';

/** Task events that open or close an inbox item; the rest leave it alone. */
const TASK_EVENTS = new Set([
  'task.blocked',
  'task.request_answered',
  'task.failed',
  'task.retried',
  'task.dismissed',
  'task.cancelled',
  'task.lease_expired',
  'task.released',
]);
const CHANGE_EVENTS = new Set([
  'pending_change.proposed',
  'pending_change.applied',
  'pending_change.rejected',
  'pending_change.conflicted',
]);

function item(event: StoredEvent, fields: Row): Row {
  return {
    id: event.streamId,
    change_id: null,
    request_id: null,
    options: [],
    details: {},
    created_at: at(event),
    version: event.version,
    ...fields,
  };
}

function failedTask(event: StoredEvent, error: string): Row {
  return item(event, {
    kind: 'failed_task',
    task_id: event.streamId,
    prompt: error,
    actions: stateAfter(event).retryable ? ['retry', 'dismiss'] : ['dismiss'],
  });
}

export const humanInboxProjection: Projection = {
  table: 'human_inbox',
  key: ['id'],
  columns: [
    'id',
    'kind',
    'task_id',
    'change_id',
    'request_id',
    'prompt',
    'options',
    'actions',
    'details',
    'created_at',
    'version',
  ],
  streamTypes: ['task', 'pending_change'],
  keysOf: (event) =>
    TASK_EVENTS.has(event.type) || CHANGE_EVENTS.has(event.type) ? [{ id: event.streamId }] : [],
  evolve(row, event) {
    const d = event.data;
    switch (event.type) {
      case 'task.blocked': {
        const options = (d.options ?? []) as string[];
        return item(event, {
          kind: d.kind!,
          task_id: event.streamId,
          request_id: d.request_id!,
          prompt: d.prompt!,
          options,
          // A permission is allowed or rejected, or one of the agent's own options is picked;
          // a question is answered.
          actions:
            d.kind === 'permission' ? [...new Set(['allow', 'reject', ...options])] : ['answer'],
        });
      }
      case 'task.failed':
        return failedTask(event, d.error as string);
      case 'task.lease_expired':
        return stateAfter(event).value === 'failed' ? failedTask(event, LEASE_EXPIRED_ERROR) : null;
      case 'pending_change.proposed':
        return item(event, {
          kind: 'pending_change',
          task_id: d.task_id!,
          change_id: event.streamId,
          prompt: `${d.operation as string} ${d.file_path as string}`,
          actions: ['apply', 'reject'],
          details: { file_path: d.file_path!, operation: d.operation!, agent: d.agent ?? null },
        });
      case 'pending_change.conflicted':
        // Applying failed: the change waits again, with the reason. (A failed revert leaves
        // the change applied: nothing waits.)
        return row && stateAfter(event).value === 'pending'
          ? {
              ...row,
              details: { ...(row.details as Row), conflict: d.reason! },
              version: event.version,
            }
          : null;
      default: // answered, retried, dismissed, cancelled, released, applied, rejected
        return null;
    }
  },
};
