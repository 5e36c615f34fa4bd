/**
 * A flow run: a DAG of steps. The run is `running` until every step has settled, then
 * `completed`, or `failed` as soon as a required (non-optional) step fails, is cancelled, or
 * is skipped because an optional step it depends on failed: completed means every required
 * step completed.
 * The ready wave (pending steps whose dependencies all completed) is derived from state,
 * never stored. A failed step skips everything that depends on it; a failed run cancels its
 * running steps (the `cancelStepTasks` effect cancels their tasks) and skips the rest.
 */
import { assign, setup } from 'xstate';
import { isOptionalText, isOptionalUuid, isUuid } from './ids.ts';

// @2: a required step skipped (an optional step it needs failed) fails the run.
export const version = 'flow_run@2';

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
export type Band = 'small' | 'medium' | 'large';

export interface StepPlan {
  step_id: string;
  kind: 'agent' | 'code';
  agent?: string | null;
  depends_on?: string[];
  optional?: boolean;
  input?: Record<string, unknown>;
}

export interface Step {
  stepId: string;
  kind: 'agent' | 'code';
  agent: string | null;
  dependsOn: string[];
  optional: boolean;
  input: Record<string, unknown>;
  status: StepStatus;
  taskId: string | null;
  output: string | null;
  error: string | null;
}

export interface FlowRunContext {
  projectId: string | null;
  flowName: string;
  band: Band;
  model: string | null;
  input: { question: string } & Record<string, unknown>;
  /** In plan order. */
  steps: Step[];
  error: string | null;
  createdAt: string | null;
  endedAt: string | null;
}

export type FlowRunEvent =
  | {
      type: 'flow_run.created';
      flow_name: string;
      band: Band;
      input: { question: string } & Record<string, unknown>;
      steps: StepPlan[];
      project_id?: string | null;
      model?: string | null;
      at: string;
    }
  | { type: 'flow_run.step_started'; step_id: string; task_id: string; at: string }
  | { type: 'flow_run.step_completed'; step_id: string; output?: string | null; at: string }
  | { type: 'flow_run.step_failed'; step_id: string; error: string; at: string }
  | { type: 'flow_run.step_cancelled'; step_id: string; reason?: string; at: string }
  | { type: 'flow_run.cancelled'; reason?: string; at: string };

const BANDS: readonly string[] = ['small', 'medium', 'large'];

/** Structural checks on a plan: unique ids, known dependencies, no cycle. */
export function planProblem(steps: unknown): string | null {
  if (!Array.isArray(steps)) return 'steps must be an array';
  const ids = new Set<string>();
  for (const step of steps as StepPlan[]) {
    if (typeof step?.step_id !== 'string' || step.step_id === '')
      return 'every step needs a step_id';
    if (ids.has(step.step_id)) return `duplicate step_id ${step.step_id}`;
    if (step.kind !== 'agent' && step.kind !== 'code')
      return `step ${step.step_id}: kind must be agent or code`;
    if (!isOptionalText(step.agent)) return `step ${step.step_id}: agent must be text`;
    if (step.optional !== undefined && typeof step.optional !== 'boolean')
      return `step ${step.step_id}: optional must be true or false`;
    if (step.depends_on !== undefined && !Array.isArray(step.depends_on))
      return `step ${step.step_id}: depends_on must be a list of step ids`;
    if (
      step.input !== undefined &&
      (typeof step.input !== 'object' || step.input === null || Array.isArray(step.input))
    )
      return `step ${step.step_id}: input must be an object`;
    ids.add(step.step_id);
  }
  for (const step of steps as StepPlan[]) {
    for (const dep of step.depends_on ?? []) {
      if (!ids.has(dep)) return `step ${step.step_id} depends on unknown step ${String(dep)}`;
    }
  }
  // Kahn: a plan whose steps cannot all be ordered has a cycle.
  const remaining = new Map(
    (steps as StepPlan[]).map((s) => [s.step_id, new Set(s.depends_on ?? [])]),
  );
  let progressed = true;
  while (remaining.size > 0 && progressed) {
    progressed = false;
    for (const [id, deps] of remaining) {
      if ([...deps].every((d) => !remaining.has(d))) {
        remaining.delete(id);
        progressed = true;
      }
    }
  }
  return remaining.size > 0 ? `dependency cycle among ${[...remaining.keys()].join(', ')}` : null;
}

/** Pending steps whose dependencies have all completed. */
export function readySteps(context: Pick<FlowRunContext, 'steps'>): Step[] {
  const status = new Map(context.steps.map((s) => [s.stepId, s.status]));
  return context.steps.filter(
    (s) => s.status === 'pending' && s.dependsOn.every((d) => status.get(d) === 'completed'),
  );
}

/** Every step that depends on `stepId`, directly or through others. */
function dependentsOf(steps: Step[], stepId: string): Set<string> {
  const found = new Set<string>();
  const queue = [stepId];
  while (queue.length) {
    const current = queue.pop()!;
    for (const s of steps) {
      if (s.dependsOn.includes(current) && !found.has(s.stepId)) {
        found.add(s.stepId);
        queue.push(s.stepId);
      }
    }
  }
  return found;
}

function settle(steps: Step[], stepId: string, status: StepStatus, fields: Partial<Step>): Step[] {
  const skipped = dependentsOf(steps, stepId);
  return steps.map((s) =>
    s.stepId === stepId
      ? { ...s, ...fields, status }
      : skipped.has(s.stepId) && s.status === 'pending'
        ? { ...s, status: 'skipped' as const }
        : s,
  );
}

const isLost = (s: Step) =>
  !s.optional && (s.status === 'failed' || s.status === 'cancelled' || s.status === 'skipped');

const stepWithStatus = (context: FlowRunContext, stepId: string, statuses: StepStatus[]) =>
  context.steps.some((s) => s.stepId === stepId && statuses.includes(s.status));

export const flowRunMachine = setup({
  types: {
    context: {} as FlowRunContext,
    events: {} as FlowRunEvent,
  },
  guards: {
    validPlan: ({ event }) =>
      event.type === 'flow_run.created' &&
      typeof event.flow_name === 'string' &&
      BANDS.includes(event.band) &&
      typeof event.input?.question === 'string' &&
      isOptionalUuid(event.project_id) &&
      isOptionalText(event.model) &&
      planProblem(event.steps) === null,
    stepIsReady: ({ context, event }) =>
      event.type === 'flow_run.step_started' &&
      isUuid(event.task_id) &&
      readySteps(context).some((s) => s.stepId === event.step_id),
    stepIsRunning: ({ context, event }) =>
      ((event.type === 'flow_run.step_completed' && isOptionalText(event.output)) ||
        (event.type === 'flow_run.step_failed' && typeof event.error === 'string') ||
        (event.type === 'flow_run.step_cancelled' && isOptionalText(event.reason))) &&
      (event.type === 'flow_run.step_completed' ||
        event.type === 'flow_run.step_failed' ||
        event.type === 'flow_run.step_cancelled') &&
      stepWithStatus(context, event.step_id, ['running']),
    /** A required step that will never complete: it failed, was cancelled, or was skipped. */
    requiredStepLost: ({ context }) => context.steps.some(isLost),
    allStepsSettled: ({ context }) =>
      context.steps.every((s) => s.status !== 'pending' && s.status !== 'running'),
  },
  actions: {
    recordPlan: assign(({ event }) => {
      if (event.type !== 'flow_run.created') return {};
      return {
        projectId: event.project_id ?? null,
        flowName: event.flow_name,
        band: event.band,
        model: event.model ?? null,
        input: event.input,
        createdAt: event.at,
        steps: event.steps.map((p): Step => ({
          stepId: p.step_id,
          kind: p.kind,
          agent: p.agent ?? null,
          dependsOn: p.depends_on ?? [],
          optional: p.optional ?? false,
          input: p.input ?? {},
          status: 'pending',
          taskId: null,
          output: null,
          error: null,
        })),
      };
    }),
    markStepRunning: assign(({ context, event }) =>
      event.type === 'flow_run.step_started'
        ? {
            steps: context.steps.map((s) =>
              s.stepId === event.step_id
                ? { ...s, status: 'running' as const, taskId: event.task_id }
                : s,
            ),
          }
        : {},
    ),
    markStepCompleted: assign(({ context, event }) =>
      event.type === 'flow_run.step_completed'
        ? {
            steps: context.steps.map((s) =>
              s.stepId === event.step_id
                ? { ...s, status: 'completed' as const, output: event.output ?? null }
                : s,
            ),
          }
        : {},
    ),
    markStepFailed: assign(({ context, event }) => {
      if (event.type === 'flow_run.step_failed') {
        return { steps: settle(context.steps, event.step_id, 'failed', { error: event.error }) };
      }
      if (event.type === 'flow_run.step_cancelled') {
        return {
          steps: settle(context.steps, event.step_id, 'cancelled', {
            error: event.reason ?? 'cancelled',
          }),
        };
      }
      return {};
    }),
    /** The run is over: nothing more will start, nothing keeps running. */
    abandonSteps: assign(({ context }) => ({
      steps: context.steps.map((s) =>
        s.status === 'running'
          ? { ...s, status: 'cancelled' as const }
          : s.status === 'pending'
            ? { ...s, status: 'skipped' as const }
            : s,
      ),
    })),
    recordRunFailure: assign(({ context, event }) => {
      const lost = context.steps.find(isLost);
      return {
        error: !lost
          ? 'failed'
          : lost.status === 'skipped'
            ? `step ${lost.stepId} could not run: a step it depends on failed`
            : `step ${lost.stepId} ${lost.status}: ${lost.error ?? ''}`,
        endedAt: 'at' in event ? event.at : null,
      };
    }),
    recordCancel: assign(({ event }) =>
      event.type === 'flow_run.cancelled'
        ? { error: event.reason ?? 'cancelled', endedAt: event.at }
        : {},
    ),
    recordEnd: assign(({ event }) => ({ endedAt: 'at' in event ? event.at : null })),
    // Effects, implemented by the runtime and run after commit.
    startReadySteps: () => undefined,
    cancelStepTasks: () => undefined,
  },
}).createMachine({
  id: 'flow_run',
  initial: 'new',
  context: {
    projectId: null,
    flowName: '',
    band: 'small',
    model: null,
    input: { question: '' },
    steps: [],
    error: null,
    createdAt: null,
    endedAt: null,
  },
  states: {
    new: {
      on: { 'flow_run.created': { guard: 'validPlan', target: 'running', actions: 'recordPlan' } },
    },
    running: {
      entry: 'startReadySteps',
      // Checked after every event taken in `running`: has the run just ended?
      always: [
        {
          guard: 'requiredStepLost',
          target: 'failed',
          actions: ['recordRunFailure', 'cancelStepTasks', 'abandonSteps'],
        },
        { guard: 'allStepsSettled', target: 'completed', actions: 'recordEnd' },
      ],
      on: {
        'flow_run.step_started': { guard: 'stepIsReady', actions: 'markStepRunning' },
        'flow_run.step_completed': {
          guard: 'stepIsRunning',
          actions: ['markStepCompleted', 'startReadySteps'],
        },
        'flow_run.step_failed': {
          guard: 'stepIsRunning',
          actions: ['markStepFailed', 'startReadySteps'],
        },
        'flow_run.step_cancelled': {
          guard: 'stepIsRunning',
          actions: ['markStepFailed', 'startReadySteps'],
        },
        'flow_run.cancelled': {
          target: 'cancelled',
          actions: ['recordCancel', 'cancelStepTasks', 'abandonSteps'],
        },
      },
    },
    completed: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
  },
});
