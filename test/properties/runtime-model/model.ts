/**
 * A small model of what the API shows about tasks and one flow run, written from the rules
 * (not from the machines' code): which command a task takes in which state, what a claim
 * picks, what a sweep expires, how a step's task moves its run. The model-based test runs
 * the same commands against the real runtime on PostgreSQL and compares the read tables
 * with `expectedRows` after every command.
 */
import { LEASE_EXPIRED_ERROR, DEFAULT_MAX_ATTEMPTS } from '../../../src/machines/task.ts';

export const LEASE_MS = 60_000;

export type TaskState = 'pending' | 'running' | 'blocked' | 'completed' | 'failed' | 'cancelled';

export interface TaskModel {
  id: string;
  state: TaskState;
  priority: number;
  maxAttempts: number;
  attempts: number;
  createdAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  outputChunks: number;
  costTokens: number;
  error: string | null;
  request: { id: string; kind: 'permission' | 'question' } | null;
  dismissed: boolean;
  runId: string | null;
  stepId: string | null;
}

export interface StepModel {
  id: string;
  dependsOn: string[];
  optional: boolean;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
  taskId: string | null;
}

export interface FlowModel {
  id: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  steps: StepModel[];
}

export interface Model {
  now: number;
  tasks: TaskModel[];
  flow: FlowModel;
  /** The id a step's task gets (the runtime derives it from run and step). */
  stepTaskId: (runId: string, stepId: string) => string;
}

export const isClaimed = (t: TaskModel) => t.state === 'running' || t.state === 'blocked';
const isOpen = (t: TaskModel) => t.state === 'pending' || isClaimed(t);

export function newTask(
  model: Model,
  id: string,
  fields: Partial<Pick<TaskModel, 'priority' | 'maxAttempts' | 'runId' | 'stepId'>>,
): TaskModel {
  const task: TaskModel = {
    id,
    state: 'pending',
    priority: 0,
    maxAttempts: DEFAULT_MAX_ATTEMPTS,
    attempts: 0,
    createdAt: model.now,
    leaseOwner: null,
    leaseExpiresAt: null,
    outputChunks: 0,
    costTokens: 0,
    error: null,
    request: null,
    dismissed: false,
    runId: null,
    stepId: null,
    ...fields,
  };
  model.tasks.push(task);
  return task;
}

function end(
  model: Model,
  task: TaskModel,
  state: 'completed' | 'failed' | 'cancelled',
  error: string | null,
) {
  task.state = state;
  task.error = error;
  task.leaseOwner = null;
  task.leaseExpiresAt = null;
  task.request = null;
  notifyRun(model, task);
}

/** The highest-priority, oldest pending task (ties by id): what a claim takes. */
export function nextClaim(model: Model): TaskModel | undefined {
  return model.tasks
    .filter((t) => t.state === 'pending')
    .sort(
      (a, b) =>
        b.priority - a.priority ||
        a.createdAt - b.createdAt ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )[0];
}

export function claim(model: Model, worker: string): TaskModel | undefined {
  const task = nextClaim(model);
  if (!task) return undefined;
  task.state = 'running';
  task.attempts++;
  task.leaseOwner = worker;
  task.leaseExpiresAt = model.now + LEASE_MS;
  task.error = null;
  return task;
}

/** Whether the task takes the command (true), and if so what it becomes. */
export const taskRules = {
  output: (_m: Model, t: TaskModel) => isClaimed(t) && (t.outputChunks++, true),
  usage: (_m: Model, t: TaskModel, cost: number) => isClaimed(t) && ((t.costTokens += cost), true),
  block: (_m: Model, t: TaskModel, id: string, kind: 'permission' | 'question') =>
    t.state === 'running' && ((t.state = 'blocked'), (t.request = { id, kind }), true),
  answer: (_m: Model, t: TaskModel, requestId: string) =>
    t.state === 'blocked' &&
    t.request?.id === requestId &&
    ((t.state = 'running'), (t.request = null), true),
  complete: (m: Model, t: TaskModel) =>
    t.state === 'running' && (end(m, t, 'completed', null), true),
  fail: (m: Model, t: TaskModel, error: string) =>
    isClaimed(t) && (end(m, t, 'failed', error), true),
  cancel: (m: Model, t: TaskModel) => isOpen(t) && (end(m, t, 'cancelled', 'cancelled'), true),
  retry: (_m: Model, t: TaskModel) =>
    t.state === 'failed' &&
    t.attempts < t.maxAttempts &&
    ((t.state = 'pending'), (t.error = null), (t.dismissed = false), true),
  extend: (m: Model, t: TaskModel, worker: string) =>
    isClaimed(t) && t.leaseOwner === worker && ((t.leaseExpiresAt = m.now + LEASE_MS), true),
  /** The worker gives the task back unfinished: it was not an attempt. */
  release: (_m: Model, t: TaskModel, worker: string) =>
    isClaimed(t) &&
    t.leaseOwner === worker &&
    ((t.state = 'pending'),
    t.attempts--,
    (t.leaseOwner = null),
    (t.leaseExpiresAt = null),
    (t.request = null),
    true),
  dismiss: (_m: Model, t: TaskModel) =>
    t.state === 'failed' && !t.dismissed && ((t.dismissed = true), true),
};

/** The sweep: every claimed task whose deadline is before now goes back, or fails when spent. */
export function expireLeases(model: Model): number {
  const due = model.tasks
    .filter((t) => isClaimed(t) && t.leaseExpiresAt! < model.now)
    .sort((a, b) => a.leaseExpiresAt! - b.leaseExpiresAt!);
  for (const t of due) {
    if (t.attempts < t.maxAttempts) {
      t.state = 'pending';
      t.leaseOwner = null;
      t.leaseExpiresAt = null;
      t.request = null;
    } else end(model, t, 'failed', LEASE_EXPIRED_ERROR);
  }
  return due.length;
}

// ── the flow run ──────────────────────────────────────────────────────────────────────────

const dependsOnTransitively = (steps: StepModel[], step: StepModel, on: string): boolean =>
  step.dependsOn.some(
    (d) =>
      d === on ||
      dependsOnTransitively(
        steps,
        steps.find((s) => s.id === d)!,
        on,
      ),
  );

/** A step's task ended: its step settles, and the run moves on. */
function notifyRun(model: Model, task: TaskModel) {
  const flow = model.flow;
  if (task.runId !== flow.id || flow.status !== 'running') return;
  const step = flow.steps.find((s) => s.id === task.stepId)!;
  if (step.status !== 'running') return;
  step.status =
    task.state === 'completed' ? 'completed' : task.state === 'failed' ? 'failed' : 'cancelled';
  if (step.status !== 'completed')
    for (const s of flow.steps)
      if (s.status === 'pending' && dependsOnTransitively(flow.steps, s, step.id))
        s.status = 'skipped';
  settleRun(model);
}

export function settleRun(model: Model) {
  const flow = model.flow;
  if (flow.status !== 'running') return;
  // A required step that can never complete (failed, cancelled, or skipped) fails the run.
  if (
    flow.steps.some(
      (s) =>
        !s.optional &&
        (s.status === 'failed' || s.status === 'cancelled' || s.status === 'skipped'),
    )
  ) {
    stopRun(model, 'failed');
    return;
  }
  if (flow.steps.every((s) => s.status !== 'pending' && s.status !== 'running')) {
    flow.status = 'completed';
    return;
  }
  for (const s of flow.steps) {
    const ready =
      s.status === 'pending' &&
      s.dependsOn.every((d) => flow.steps.find((x) => x.id === d)!.status === 'completed');
    if (!ready) continue;
    s.status = 'running';
    s.taskId = model.stepTaskId(flow.id, s.id);
    newTask(model, s.taskId, { runId: flow.id, stepId: s.id });
  }
}

/** The run ended (failed, or cancelled): running steps are cancelled with their tasks, the rest skipped. */
export function stopRun(model: Model, status: 'failed' | 'cancelled') {
  const flow = model.flow;
  flow.status = status;
  for (const s of flow.steps) {
    if (s.status === 'pending') s.status = 'skipped';
    if (s.status !== 'running') continue;
    s.status = 'cancelled';
    const task = model.tasks.find((t) => t.id === s.taskId)!;
    if (isOpen(task)) end(model, task, 'cancelled', `flow run ${flow.id} ended`);
  }
}

// ── what the read tables must hold ───────────────────────────────────────────────────────

export function expectedRows(model: Model) {
  const byId = <T extends { id: string }>(rows: T[]): T[] =>
    [...rows].sort((a, b) => (a.id < b.id ? -1 : 1));
  type InboxRow = { id: string; kind: string; request_id: string | null; actions: string[] };
  return {
    tasks: byId(
      model.tasks.map((t) => ({
        id: t.id,
        state: t.state,
        priority: t.priority,
        attempts: t.attempts,
        max_attempts: t.maxAttempts,
        lease_owner: t.leaseOwner,
        lease_ms: t.leaseExpiresAt,
        output_chunks: t.outputChunks,
        cost_tokens: t.costTokens,
        error: t.error,
        ended: ['completed', 'failed', 'cancelled'].includes(t.state),
        run_id: t.runId,
        step_id: t.stepId,
      })),
    ),
    inbox: byId(
      model.tasks.flatMap((t): InboxRow[] =>
        t.state === 'blocked'
          ? [
              {
                id: t.id,
                kind: t.request!.kind,
                request_id: t.request!.id,
                actions: t.request!.kind === 'permission' ? ['allow', 'reject'] : ['answer'],
              },
            ]
          : t.state === 'failed' && !t.dismissed
            ? [
                {
                  id: t.id,
                  kind: 'failed_task',
                  request_id: null,
                  actions: t.attempts < t.maxAttempts ? ['retry', 'dismiss'] : ['dismiss'],
                },
              ]
            : [],
      ),
    ),
    flow_runs: [{ id: model.flow.id, status: model.flow.status }],
    flow_steps: model.flow.steps.map((s) => ({
      step_id: s.id,
      status: s.status,
      task_id: s.taskId,
    })),
  };
}
