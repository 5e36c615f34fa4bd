/**
 * The `flow_steps` read table: one row per step of a run. Statuses come from the run's
 * recorded state (`meta.state_after.steps`), so the skip and cancel cascades the machine
 * computed are not computed again here.
 */
import type { StoredEvent } from '../store/types.ts';
import { at, requireRow, stateAfter, type Projection, type Row } from './types.ts';

interface PlanStep {
  step_id: string;
  kind: string;
  agent?: string | null;
  depends_on?: string[];
  optional?: boolean;
  input?: Row;
}

const statuses = (event: StoredEvent) => (stateAfter(event).steps ?? {}) as Record<string, string>;

/** Fields of the step the event is about (the others only change status). */
function ownChanges(event: StoredEvent): Row {
  const d = event.data;
  switch (event.type) {
    case 'flow_run.step_started':
      return { task_id: d.task_id! };
    case 'flow_run.step_completed':
      return { output: d.output ?? null };
    case 'flow_run.step_failed':
      return { error: d.error! };
    case 'flow_run.step_cancelled':
      return { error: d.reason ?? 'cancelled' };
    default:
      return {};
  }
}

export const flowStepsProjection: Projection = {
  table: 'flow_steps',
  key: ['run_id', 'step_id'],
  columns: [
    'run_id',
    'step_id',
    'ordinal',
    'kind',
    'agent',
    'optional',
    'depends_on',
    'status',
    'task_id',
    'input',
    'output',
    'error',
    'created_at',
    'updated_at',
  ],
  streamTypes: ['flow_run'],
  keysOf: (event) =>
    Object.keys(statuses(event)).map((step_id) => ({ run_id: event.streamId, step_id })),
  evolve(row, event, key) {
    const stepId = key.step_id as string;
    const status = statuses(event)[stepId]!;
    if (event.type === 'flow_run.created') {
      const steps = event.data.steps as unknown as PlanStep[];
      const ordinal = steps.findIndex((s) => s.step_id === stepId);
      const plan = steps[ordinal]!;
      return {
        run_id: event.streamId,
        step_id: stepId,
        ordinal,
        kind: plan.kind,
        agent: plan.agent ?? null,
        optional: plan.optional ?? false,
        depends_on: plan.depends_on ?? [],
        status,
        task_id: null,
        input: plan.input ?? {},
        output: null,
        error: null,
        created_at: at(event),
        updated_at: at(event),
      };
    }
    const before = requireRow(row, 'flow_steps', event);
    const own = event.data.step_id === stepId ? ownChanges(event) : {};
    if (before.status === status && Object.keys(own).length === 0) return before;
    return { ...before, ...own, status, updated_at: at(event) };
  },
};
