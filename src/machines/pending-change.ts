/**
 * A file change an agent proposed in a review mode, waiting for a person:
 *
 *   new ─proposed→ pending ─apply_requested→ applying ─applied→ applied
 *                    ▲  └rejected→ rejected         └conflicted→ pending (reason kept)
 *                    │
 *   applied ─revert_requested→ reverting ─reverted→ reverted
 *                                        └conflicted→ applied
 *
 * Its own actor because review outlives the task. Writing the file is an effect
 * (`applyChange` / `revertChange`) run after the request commits; its outcome comes back as
 * `applied`, `reverted` or `conflicted` (the file changed since the change was made: it is
 * reported, never overwritten). The proposal carries the content before and after, so both
 * directions can be checked and done exactly.
 */
import { assign, setup } from 'xstate';
import { isOptionalText, isOptionalUuid, isUuid } from './ids.ts';

export const version = 'pending_change@2';

export type ChangeOperation = 'create' | 'edit' | 'delete';

export interface PendingChangeContext {
  taskId: string | null;
  sessionId: string | null;
  workdir: string;
  filePath: string;
  operation: ChangeOperation;
  diff: string;
  /** The file before the change (null: it did not exist). */
  before: string | null;
  /** The file after the change (null: it is deleted). */
  after: string | null;
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
      workdir: string;
      file_path: string;
      operation: ChangeOperation;
      diff: string;
      before: string | null;
      after: string | null;
      agent?: string | null;
      at: string;
    }
  | { type: 'pending_change.apply_requested'; at: string }
  | { type: 'pending_change.applied'; at: string }
  | { type: 'pending_change.conflicted'; reason: string; at: string }
  | { type: 'pending_change.rejected'; reason?: string | null; at: string }
  | { type: 'pending_change.revert_requested'; at: string }
  | { type: 'pending_change.reverted'; at: string };

/** A relative path that stays inside its working directory. */
export function isConfinedPath(filePath: unknown): filePath is string {
  if (
    typeof filePath !== 'string' ||
    filePath === '' ||
    filePath.startsWith('/') ||
    filePath.includes('\0')
  )
    return false;
  const parts: string[] = [];
  for (const part of filePath.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return false;
      parts.pop();
    } else parts.push(part);
  }
  return parts.length > 0;
}

const contentFits = (operation: unknown, before: unknown, after: unknown) =>
  (operation === 'create' && before === null && typeof after === 'string') ||
  (operation === 'edit' && typeof before === 'string' && typeof after === 'string') ||
  (operation === 'delete' && typeof before === 'string' && after === null);

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
      typeof event.workdir === 'string' &&
      event.workdir.startsWith('/') &&
      isConfinedPath(event.file_path) &&
      contentFits(event.operation, event.before, event.after) &&
      typeof event.diff === 'string' &&
      isOptionalText(event.agent),
    validRejection: ({ event }) =>
      event.type === 'pending_change.rejected' && isOptionalText(event.reason),
    validConflict: ({ event }) =>
      event.type === 'pending_change.conflicted' && typeof event.reason === 'string',
  },
  actions: {
    recordProposal: assign(({ event }) =>
      event.type === 'pending_change.proposed'
        ? {
            taskId: event.task_id,
            sessionId: event.session_id ?? null,
            workdir: event.workdir,
            filePath: event.file_path,
            operation: event.operation,
            diff: event.diff,
            before: event.before,
            after: event.after,
            agent: event.agent ?? null,
            proposedAt: event.at,
          }
        : {},
    ),
    recordResolution: assign(({ event }) => ({
      resolvedAt: event.at,
      reason: event.type === 'pending_change.rejected' ? (event.reason ?? null) : null,
    })),
    recordConflict: assign(({ event }) => ({
      reason: event.type === 'pending_change.conflicted' ? event.reason : null,
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
    workdir: '/',
    filePath: '',
    operation: 'edit',
    diff: '',
    before: null,
    after: null,
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
        'pending_change.apply_requested': { target: 'applying', actions: 'applyChange' },
        'pending_change.rejected': {
          guard: 'validRejection',
          target: 'rejected',
          actions: 'recordResolution',
        },
      },
    },
    applying: {
      on: {
        'pending_change.applied': { target: 'applied', actions: 'recordResolution' },
        'pending_change.conflicted': {
          guard: 'validConflict',
          target: 'pending',
          actions: 'recordConflict',
        },
      },
    },
    applied: {
      on: { 'pending_change.revert_requested': { target: 'reverting', actions: 'revertChange' } },
    },
    reverting: {
      on: {
        'pending_change.reverted': { target: 'reverted', actions: 'recordResolution' },
        'pending_change.conflicted': {
          guard: 'validConflict',
          target: 'applied',
          actions: 'recordConflict',
        },
      },
    },
    rejected: { type: 'final' },
    reverted: { type: 'final' },
  },
});
