/**
 * A file change an agent proposed in a review mode, waiting for a person:
 *   new ─proposed→ pending ─applied→ applied ─reverted→ reverted
 *                          └rejected→ rejected
 * Its own small actor (not part of the task) because review outlives the task: a person
 * applies or rejects changes after the task has completed. Writing the file is the
 * `applyChange` / `revertChange` effect, after commit.
 */
import { assign, setup } from 'xstate';
import { isOptionalText, isOptionalUuid, isUuid } from './ids.ts';

export const version = 'pending_change@1';

export type ChangeOperation = 'create' | 'edit' | 'delete';

export interface PendingChangeContext {
  taskId: string | null;
  sessionId: string | null;
  filePath: string;
  operation: ChangeOperation;
  diff: string;
  agent: string | null;
  reason: string | null;
  proposedAt: string | null;
  resolvedAt: string | null;
}

export type PendingChangeEvent =
  | {
      type: 'pending_change.proposed';
      task_id: string;
      session_id?: string | null;
      file_path: string;
      operation: ChangeOperation;
      diff: string;
      agent?: string | null;
      at: string;
    }
  | { type: 'pending_change.applied'; at: string }
  | { type: 'pending_change.rejected'; reason?: string | null; at: string }
  | { type: 'pending_change.reverted'; at: string };

const OPERATIONS: readonly unknown[] = ['create', 'edit', 'delete'];

export const pendingChangeMachine = setup({
  types: {
    context: {} as PendingChangeContext,
    events: {} as PendingChangeEvent,
  },
  guards: {
    validProposal: ({ event }) =>
      event.type === 'pending_change.proposed' &&
      isUuid(event.task_id) &&
      isOptionalUuid(event.session_id) &&
      typeof event.file_path === 'string' &&
      event.file_path !== '' &&
      OPERATIONS.includes(event.operation) &&
      typeof event.diff === 'string' &&
      isOptionalText(event.agent),
    validRejection: ({ event }) =>
      event.type === 'pending_change.rejected' && isOptionalText(event.reason),
  },
  actions: {
    recordProposal: assign(({ event }) =>
      event.type === 'pending_change.proposed'
        ? {
            taskId: event.task_id,
            sessionId: event.session_id ?? null,
            filePath: event.file_path,
            operation: event.operation,
            diff: event.diff,
            agent: event.agent ?? null,
            proposedAt: event.at,
          }
        : {},
    ),
    recordResolution: assign(({ event }) => ({
      resolvedAt: event.at,
      reason: event.type === 'pending_change.rejected' ? (event.reason ?? null) : null,
    })),
    // Effects, implemented by the runtime and run after commit.
    applyChange: () => undefined,
    revertChange: () => undefined,
  },
}).createMachine({
  id: 'pending_change',
  initial: 'new',
  context: {
    taskId: null,
    sessionId: null,
    filePath: '',
    operation: 'edit',
    diff: '',
    agent: null,
    reason: null,
    proposedAt: null,
    resolvedAt: null,
  },
  states: {
    new: {
      on: {
        'pending_change.proposed': {
          guard: 'validProposal',
          target: 'pending',
          actions: 'recordProposal',
        },
      },
    },
    pending: {
      on: {
        'pending_change.applied': {
          target: 'applied',
          actions: ['recordResolution', 'applyChange'],
        },
        'pending_change.rejected': {
          guard: 'validRejection',
          target: 'rejected',
          actions: 'recordResolution',
        },
      },
    },
    applied: {
      on: {
        'pending_change.reverted': {
          target: 'reverted',
          actions: ['recordResolution', 'revertChange'],
        },
      },
    },
    rejected: { type: 'final' },
    reverted: { type: 'final' },
  },
});
