/**
 * The task statechart. Pure: ids and timestamps arrive in event data; effects are named
 * actions the runtime implements after the event has committed.
 *
 *   new ─created→ pending ─claimed→ running ─completed→ completed
 *                   ▲                 │  ▲   ─failed→ failed ─retried→ pending
 *                   │ lease_expired / │  │answered
 *                   │ released        ▼  │
 *                   └───────────── blocked
 *   cancelled from pending, running or blocked. completed and cancelled absorb everything.
 */
import { assign, setup } from 'xstate';
import { isCount, isOptionalText, isOptionalUuid, isTimestamp } from './ids.ts';

export const version = 'task@1';

export const EXECUTION_PATHS = ['native', 'acp', 'pty', 'qwen', 'openai', 'scripted'] as const;
export type ExecutionPath = (typeof EXECUTION_PATHS)[number];

export interface OpenRequest {
  requestId: string;
  kind: 'permission' | 'question';
  prompt: string;
  options: string[];
  requestedAt: string;
}

export interface TaskContext {
  input: string;
  projectId: string | null;
  parentTaskId: string | null;
  runId: string | null;
  stepId: string | null;
  chatId: string | null;
  agent: string | null;
  model: string | null;
  modeId: string | null;
  workdir: string | null;
  dismissed: boolean;
  priority: number;
  maxAttempts: number;
  attempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  executionPath: ExecutionPath | null;
  costTokens: number;
  inputTokens: number;
  outputTokens: number;
  outputChunks: number;
  outputSummary: string | null;
  error: string | null;
  request: OpenRequest | null;
  createdAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
}

export type TaskEvent =
  | {
      type: 'task.created';
      input: string;
      at: string;
      project_id?: string | null;
      parent_task_id?: string | null;
      run_id?: string | null;
      step_id?: string | null;
      chat_id?: string | null;
      agent?: string | null;
      model?: string | null;
      mode_id?: string | null;
      // Carried for the read model only; the machine does not use them.
      session_id?: string | null;
      arena_id?: string | null;
      thinking_option_id?: string | null;
      /** Absolute path the agent works in; absent: the worker's default. */
      workdir?: string | null;
      priority?: number;
      max_attempts?: number;
    }
  | { type: 'task.claimed'; worker_id: string; lease_expires_at: string; at: string }
  | {
      type: 'task.started';
      agent: string;
      model: string | null;
      execution_path: ExecutionPath;
      at: string;
    }
  | { type: 'task.output_appended'; chunk: string; at: string }
  | {
      type: 'task.usage_recorded';
      input_tokens: number;
      output_tokens: number;
      cost_tokens: number;
      at: string;
    }
  | { type: 'task.lease_extended'; worker_id: string; lease_expires_at: string; at: string }
  | {
      type: 'task.blocked';
      request_id: string;
      kind: 'permission' | 'question';
      prompt: string;
      options?: string[];
      at: string;
    }
  | { type: 'task.request_answered'; request_id: string; answer: string; at: string }
  | { type: 'task.completed'; output_summary: string; at: string }
  | { type: 'task.failed'; error: string; output_summary?: string | null; at: string }
  | { type: 'task.retried'; at: string }
  | { type: 'task.dismissed'; at: string }
  | { type: 'task.cancelled'; reason?: string; at: string }
  | { type: 'task.lease_expired'; at: string }
  | { type: 'task.released'; worker_id: string; at: string };

export const DEFAULT_MAX_ATTEMPTS = 3;
export const LEASE_EXPIRED_ERROR = 'lease expired: the worker running it stopped answering';

const initialContext: TaskContext = {
  input: '',
  projectId: null,
  parentTaskId: null,
  runId: null,
  stepId: null,
  chatId: null,
  agent: null,
  model: null,
  modeId: null,
  workdir: null,
  dismissed: false,
  priority: 0,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  attempts: 0,
  leaseOwner: null,
  leaseExpiresAt: null,
  executionPath: null,
  costTokens: 0,
  inputTokens: 0,
  outputTokens: 0,
  outputChunks: 0,
  outputSummary: null,
  error: null,
  request: null,
  createdAt: null,
  startedAt: null,
  endedAt: null,
};

/**
 * What a claimed task takes whether its agent is working (running) or waiting for a person
 * (blocked): the worker still holds the lease, and the task can still end.
 */
const whileClaimed = {
  'task.output_appended': { actions: 'countOutput' },
  'task.usage_recorded': { guard: 'validUsage', actions: 'addUsage' },
  'task.lease_extended': { guard: 'leaseHolder', actions: 'extendLease' },
  'task.failed': {
    guard: 'validFailure',
    target: 'failed',
    actions: ['recordFailure', 'clearLease', 'notifyParent'],
  },
  'task.cancelled': {
    target: 'cancelled',
    actions: ['recordCancel', 'clearLease', 'abortAgent', 'notifyParent'],
  },
  'task.lease_expired': [
    {
      guard: 'leaseExpiredWithAttemptsLeft',
      target: 'pending',
      actions: ['clearLease', 'abortAgent'],
    },
    {
      guard: 'leaseHasExpired',
      target: 'failed',
      actions: ['recordFailure', 'clearLease', 'abortAgent', 'notifyParent'],
    },
  ],
  'task.released': {
    guard: 'leaseHolder',
    target: 'pending',
    actions: ['clearLease', 'refundAttempt'],
  },
} as const;

export const taskMachine = setup({
  types: {
    context: {} as TaskContext,
    events: {} as TaskEvent,
  },
  guards: {
    validCreation: ({ event }) =>
      event.type === 'task.created' &&
      typeof event.input === 'string' &&
      isTimestamp(event.at) &&
      [
        event.project_id,
        event.parent_task_id,
        event.run_id,
        event.chat_id,
        event.session_id,
        event.arena_id,
      ].every(isOptionalUuid) &&
      (event.workdir === undefined ||
        event.workdir === null ||
        (typeof event.workdir === 'string' && event.workdir.startsWith('/'))) &&
      [event.step_id, event.agent, event.model, event.mode_id, event.thinking_option_id].every(
        isOptionalText,
      ) &&
      (event.max_attempts === undefined ||
        (Number.isInteger(event.max_attempts) && event.max_attempts >= 1)) &&
      (event.priority === undefined || Number.isInteger(event.priority)),
    validClaim: ({ event }) =>
      event.type === 'task.claimed' &&
      typeof event.worker_id === 'string' &&
      event.worker_id !== '' &&
      isTimestamp(event.lease_expires_at),
    validStart: ({ event }) =>
      event.type === 'task.started' &&
      typeof event.agent === 'string' &&
      isOptionalText(event.model) &&
      (EXECUTION_PATHS as readonly unknown[]).includes(event.execution_path),
    validBlock: ({ event }) =>
      event.type === 'task.blocked' &&
      typeof event.request_id === 'string' &&
      (event.kind === 'permission' || event.kind === 'question') &&
      typeof event.prompt === 'string' &&
      (event.options === undefined ||
        (Array.isArray(event.options) && event.options.every((o) => typeof o === 'string'))),
    validCompletion: ({ event }) =>
      event.type === 'task.completed' && typeof event.output_summary === 'string',
    validFailure: ({ event }) =>
      event.type === 'task.failed' &&
      typeof event.error === 'string' &&
      isOptionalText(event.output_summary),
    leaseHolder: ({ context, event }) =>
      (event.type === 'task.lease_extended' || event.type === 'task.released') &&
      event.worker_id === context.leaseOwner &&
      (event.type === 'task.released' || isTimestamp(event.lease_expires_at)),
    validUsage: ({ event }) =>
      event.type === 'task.usage_recorded' &&
      isCount(event.input_tokens) &&
      isCount(event.output_tokens) &&
      isCount(event.cost_tokens),
    answersOpenRequest: ({ context, event }) =>
      event.type === 'task.request_answered' && event.request_id === context.request?.requestId,
    attemptsLeft: ({ context }) => context.attempts < context.maxAttempts,
    notDismissed: ({ context }) => !context.dismissed,
    /** The sweeper's clock (in the event) has passed the recorded deadline. */
    leaseHasExpired: ({ context, event }) =>
      event.type === 'task.lease_expired' &&
      context.leaseExpiresAt !== null &&
      Date.parse(event.at) >= Date.parse(context.leaseExpiresAt),
    leaseExpiredWithAttemptsLeft: ({ context, event }) =>
      event.type === 'task.lease_expired' &&
      context.leaseExpiresAt !== null &&
      Date.parse(event.at) >= Date.parse(context.leaseExpiresAt) &&
      context.attempts < context.maxAttempts,
  },
  actions: {
    recordCreation: assign(({ event }) => {
      if (event.type !== 'task.created') return {};
      return {
        input: event.input,
        projectId: event.project_id ?? null,
        parentTaskId: event.parent_task_id ?? null,
        runId: event.run_id ?? null,
        stepId: event.step_id ?? null,
        chatId: event.chat_id ?? null,
        agent: event.agent ?? null,
        model: event.model ?? null,
        modeId: event.mode_id ?? null,
        workdir: event.workdir ?? null,
        priority: event.priority ?? 0,
        maxAttempts: event.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
        createdAt: event.at,
      };
    }),
    recordClaim: assign(({ context, event }) =>
      event.type === 'task.claimed'
        ? {
            attempts: context.attempts + 1,
            leaseOwner: event.worker_id,
            leaseExpiresAt: event.lease_expires_at,
            error: null,
            outputSummary: null,
            endedAt: null,
          }
        : {},
    ),
    recordStart: assign(({ event }) =>
      event.type === 'task.started'
        ? {
            agent: event.agent,
            // `model` may be absent: record null, never undefined, which a stored snapshot
            // (JSON) would drop and restore differently.
            model: event.model ?? null,
            executionPath: event.execution_path,
            startedAt: event.at,
          }
        : {},
    ),
    countOutput: assign(({ context }) => ({ outputChunks: context.outputChunks + 1 })),
    addUsage: assign(({ context, event }) =>
      event.type === 'task.usage_recorded'
        ? {
            inputTokens: context.inputTokens + event.input_tokens,
            outputTokens: context.outputTokens + event.output_tokens,
            costTokens: context.costTokens + event.cost_tokens,
          }
        : {},
    ),
    extendLease: assign(({ event }) =>
      event.type === 'task.lease_extended' ? { leaseExpiresAt: event.lease_expires_at } : {},
    ),
    openRequest: assign(({ event }) =>
      event.type === 'task.blocked'
        ? {
            request: {
              requestId: event.request_id,
              kind: event.kind,
              prompt: event.prompt,
              options: event.options ?? [],
              requestedAt: event.at,
            },
          }
        : {},
    ),
    closeRequest: assign({ request: null }),
    recordCompletion: assign(({ event }) =>
      event.type === 'task.completed'
        ? { outputSummary: event.output_summary, endedAt: event.at, error: null }
        : {},
    ),
    recordFailure: assign(({ event }) => {
      if (event.type === 'task.failed') {
        return {
          error: event.error,
          outputSummary: event.output_summary ?? null,
          endedAt: event.at,
        };
      }
      if (event.type === 'task.lease_expired') {
        return {
          error: LEASE_EXPIRED_ERROR,
          endedAt: event.at,
        };
      }
      return {};
    }),
    recordCancel: assign(({ event }) =>
      event.type === 'task.cancelled'
        ? { error: event.reason ?? 'cancelled', endedAt: event.at }
        : {},
    ),
    clearLease: assign({ leaseOwner: null, leaseExpiresAt: null, request: null }),
    /** A released claim was not an attempt: the worker gave it back unfinished. */
    refundAttempt: assign(({ context }) => ({ attempts: Math.max(0, context.attempts - 1) })),
    clearOutcome: assign({ error: null, outputSummary: null, endedAt: null, dismissed: false }),
    markDismissed: assign({ dismissed: true }),
    // Effects, implemented by the runtime and run after commit.
    startAgent: () => undefined,
    abortAgent: () => undefined,
    deliverAnswer: () => undefined,
    notifyParent: () => undefined,
  },
}).createMachine({
  id: 'task',
  initial: 'new',
  context: initialContext,
  states: {
    new: {
      on: {
        'task.created': { guard: 'validCreation', target: 'pending', actions: 'recordCreation' },
      },
    },
    pending: {
      on: {
        'task.claimed': {
          guard: 'validClaim',
          target: 'running',
          actions: ['recordClaim', 'startAgent'],
        },
        'task.cancelled': { target: 'cancelled', actions: ['recordCancel', 'notifyParent'] },
      },
    },
    running: {
      on: {
        ...whileClaimed,
        'task.started': { guard: 'validStart', actions: 'recordStart' },
        'task.blocked': { guard: 'validBlock', target: 'blocked', actions: 'openRequest' },
        'task.completed': {
          guard: 'validCompletion',
          target: 'completed',
          actions: ['recordCompletion', 'clearLease', 'notifyParent'],
        },
      },
    },
    blocked: {
      on: {
        ...whileClaimed,
        'task.request_answered': {
          guard: 'answersOpenRequest',
          target: 'running',
          actions: ['closeRequest', 'deliverAnswer'],
        },
      },
    },
    failed: {
      on: {
        'task.retried': { guard: 'attemptsLeft', target: 'pending', actions: 'clearOutcome' },
        // A person saw the failure and let it be: it leaves the inbox, the task stays failed.
        'task.dismissed': { guard: 'notDismissed', actions: 'markDismissed' },
      },
    },
    completed: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

export type TaskState =
  'new' | 'pending' | 'running' | 'blocked' | 'completed' | 'failed' | 'cancelled';
