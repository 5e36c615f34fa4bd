/**
 * How flow runs and their step tasks drive each other, as effects of their transitions:
 *   run entered running / a step settled  → startReadySteps: create each ready step's task
 *                                            (its id derived from run + step, so doing it twice
 *                                            creates it once) and record step_started
 *   step task ended                        → notifyParent: step_completed / failed / cancelled
 *   run failed or cancelled                → cancelStepTasks: cancel the tasks still running
 * Each is idempotent: a step already started or settled is simply left alone, so a restart
 * can run them all again (resumeFlows) without doing anything twice.
 */
import type pg from 'pg';
import { IllegalStateError } from '../errors.ts';
import { readySteps, type FlowRunContext } from '../machines/flow-run.ts';
import type { TaskContext } from '../machines/task.ts';
import type { Command, EffectHandler, Runtime } from './actor-host.ts';
import { uuidFromName } from './ids.ts';

export type Clock = () => Date;

export const stepTaskId = (runId: string, stepId: string) =>
  uuidFromName(`flow_run/${runId}/step/${stepId}`);

/** Sends, treating "not in a state that takes this" as already done. */
async function sendIfStillDue(
  runtime: Runtime,
  streamType: 'task' | 'flow_run',
  id: string,
  command: Command,
): Promise<void> {
  try {
    await runtime.send(streamType, id, command);
  } catch (error) {
    if (!(error instanceof IllegalStateError)) throw error;
  }
}

export async function startReadySteps(runtime: Runtime, runId: string, now: Clock): Promise<void> {
  const run = await runtime.load('flow_run', runId);
  if (run.snapshot.value !== 'running') return;
  const context = run.snapshot.context as FlowRunContext;
  for (const step of readySteps(context)) {
    const taskId = stepTaskId(runId, step.stepId);
    const prompt =
      typeof step.input.prompt === 'string' ? step.input.prompt : context.input.question;
    await sendIfStillDue(runtime, 'task', taskId, {
      type: 'task.created',
      input: prompt,
      project_id: context.projectId,
      run_id: runId,
      step_id: step.stepId,
      agent: step.agent,
      model: context.model,
      at: now().toISOString(),
    });
    await sendIfStillDue(runtime, 'flow_run', runId, {
      type: 'flow_run.step_started',
      step_id: step.stepId,
      task_id: taskId,
      at: now().toISOString(),
    });
  }
}

function stepOutcome(
  task: { value: unknown; context: TaskContext },
  at: string,
): Command | undefined {
  const stepId = task.context.stepId!;
  switch (task.value) {
    case 'completed':
      return {
        type: 'flow_run.step_completed',
        step_id: stepId,
        output: task.context.outputSummary,
        at,
      };
    case 'failed':
      return {
        type: 'flow_run.step_failed',
        step_id: stepId,
        error: task.context.error ?? 'failed',
        at,
      };
    case 'cancelled':
      return {
        type: 'flow_run.step_cancelled',
        step_id: stepId,
        reason: task.context.error ?? 'cancelled',
        at,
      };
    default:
      return undefined;
  }
}

/** Brings a running run up to date with its step tasks, then starts what became ready. */
export async function reconcileRun(runtime: Runtime, runId: string, now: Clock): Promise<void> {
  const run = await runtime.load('flow_run', runId);
  if (run.snapshot.value !== 'running') return;
  for (const step of (run.snapshot.context as FlowRunContext).steps) {
    if (step.status !== 'running' || !step.taskId) continue;
    const task = await runtime.load('task', step.taskId);
    const outcome = stepOutcome(task.snapshot as never, now().toISOString());
    if (outcome) await sendIfStillDue(runtime, 'flow_run', runId, outcome);
  }
  await startReadySteps(runtime, runId, now);
}

export function flowEffects(now: Clock = () => new Date()): Record<string, EffectHandler> {
  return {
    startReadySteps: ({ actor, runtime }) => startReadySteps(runtime, actor.streamId, now),
    cancelStepTasks: async ({ actor, runtime }) => {
      for (const step of (actor.snapshot.context as FlowRunContext).steps) {
        if (step.status === 'cancelled' && step.taskId) {
          await sendIfStillDue(runtime, 'task', step.taskId, {
            type: 'task.cancelled',
            reason: `flow run ${actor.streamId} ended`,
            at: now().toISOString(),
          });
        }
      }
    },
    notifyParent: async ({ actor, runtime }) => {
      const context = actor.snapshot.context as TaskContext;
      if (!context.runId || !context.stepId) return;
      const outcome = stepOutcome(actor.snapshot as never, now().toISOString());
      if (outcome) await sendIfStillDue(runtime, 'flow_run', context.runId, outcome);
    },
  };
}

/**
 * On start: every run still `running` is reconciled with its step tasks (a notification
 * lost to a crash is sent now) and its ready steps started. Tasks whose agent was running
 * in a dead process are not touched here: their lease expires and the sweeper handles them.
 */
export async function resumeFlows(
  pool: pg.Pool,
  runtime: Runtime,
  now: Clock = () => new Date(),
): Promise<number> {
  const { rows } = await pool.query<{ stream_id: string }>(
    `select s.stream_id from streams s
     join events e on e.stream_id = s.stream_id and e.version = s.version
     where s.stream_type = 'flow_run' and e.meta->'state_after'->>'value' = 'running'`,
  );
  for (const { stream_id } of rows) await reconcileRun(runtime, stream_id, now);
  return rows.length;
}
