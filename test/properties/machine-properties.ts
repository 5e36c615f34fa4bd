/**
 * The invariants of each machine, as fast-check properties over random histories. They take
 * the actor kind as a parameter so the mutant check can hand them a deliberately broken
 * machine and see them fail: a green run then means the invariants can bite.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { AgentSessionContext } from '../../src/machines/agent-session.ts';
import { readySteps, type FlowRunContext, type StepPlan } from '../../src/machines/flow-run.ts';
import type { ActorKind } from '../../src/machines/index.ts';
import type { PendingChangeContext } from '../../src/machines/pending-change.ts';
import type { TaskContext } from '../../src/machines/task.ts';
import type { Ev } from '../helpers/machines.ts';
import { sessionHistory } from './arbitraries/agent-session.ts';
import { flowHistory } from './arbitraries/flow-run.ts';
import { changeHistory } from './arbitraries/pending-change.ts';
import { taskHistory } from './arbitraries/task.ts';
import type { Coverage } from './coverage.ts';
import { runHistory } from './run-machine.ts';

export type HistoryProperty = fc.IProperty<[Ev[], number]>;

/** Where in the history the replay check resumes from a stored snapshot. */
const cut = fc.nat();

export function taskProperty(kind: ActorKind, coverage?: Coverage): HistoryProperty {
  return fc.property(taskHistory, cut, (events, cutAt) => {
    let chunks = 0;
    runHistory(
      kind,
      events,
      ({ before, event, after, accepted }) => {
        const b = before.context as TaskContext;
        const c = after.context as TaskContext;
        const state = after.value as string;
        if (accepted && event.type === 'task.output_appended') chunks++;
        expect(c.outputChunks).toBe(chunks);
        expect(c.attempts).toBeGreaterThanOrEqual(0);
        expect(c.attempts).toBeLessThanOrEqual(c.maxAttempts);
        // Cost and token counts only grow.
        expect(c.costTokens).toBeGreaterThanOrEqual(b.costTokens);
        expect(c.inputTokens).toBeGreaterThanOrEqual(b.inputTokens);
        expect(c.outputTokens).toBeGreaterThanOrEqual(b.outputTokens);
        // A claimed task has an owner and a deadline; no other task has either.
        const claimed = state === 'running' || state === 'blocked';
        expect(c.leaseOwner !== null && c.leaseExpiresAt !== null).toBe(claimed);
        // Blocked ⇔ exactly one open request.
        expect(c.request !== null).toBe(state === 'blocked');
        // Ended ⇔ ended_at; failed carries its error.
        expect(c.endedAt !== null).toBe(['completed', 'failed', 'cancelled'].includes(state));
        if (state === 'failed') expect(typeof c.error).toBe('string');
        if (state === 'completed') expect(c.error).toBeNull();
        // A lease ends by expiry only once its deadline has passed, and only its holder
        // extends or releases it.
        if (accepted && event.type === 'task.lease_expired')
          expect(Date.parse(event.at as string)).toBeGreaterThanOrEqual(
            Date.parse(b.leaseExpiresAt!),
          );
        if (accepted && (event.type === 'task.lease_extended' || event.type === 'task.released'))
          expect(event.worker_id).toBe(b.leaseOwner);
        // Leaving `failed` for `pending` needs an attempt left.
        if (before.value === 'failed' && state === 'pending')
          expect(b.attempts).toBeLessThan(b.maxAttempts);
      },
      { cut: cutAt, coverage },
    );
  });
}

const STEP_MOVES: Record<string, string[]> = {
  pending: ['pending', 'running', 'skipped'],
  running: ['running', 'completed', 'failed', 'cancelled'],
};

/** The ready wave from the plan alone: pending steps whose every dependency completed. */
function referenceReady(plan: StepPlan[], status: Map<string, string>): string[] {
  return plan
    .filter(
      (p) =>
        status.get(p.step_id) === 'pending' &&
        (p.depends_on ?? []).every((d) => status.get(d) === 'completed'),
    )
    .map((p) => p.step_id);
}

/** Every step that depends on `stepId`, directly or through others, from the plan. */
function dependents(plan: StepPlan[], stepId: string): string[] {
  const direct = plan.filter((p) => (p.depends_on ?? []).includes(stepId)).map((p) => p.step_id);
  return [...new Set([...direct, ...direct.flatMap((d) => dependents(plan, d))])];
}

export function flowRunProperty(kind: ActorKind, coverage?: Coverage): HistoryProperty {
  return fc.property(flowHistory, cut, (events, cutAt) => {
    let plan: StepPlan[] = [];
    runHistory(
      kind,
      events,
      ({ before, event, after, accepted }) => {
        if (accepted && event.type === 'flow_run.created') plan = event.steps as StepPlan[];
        const value = after.value as string;
        if (value === 'new') return;
        const b = before.context as FlowRunContext;
        const c = after.context as FlowRunContext;
        const was = new Map(b.steps.map((s) => [s.stepId, s.status as string]));
        const status = new Map(c.steps.map((s) => [s.stepId, s.status as string]));
        const optional = new Set(plan.filter((p) => p.optional).map((p) => p.step_id));
        expect([...status.keys()]).toEqual(plan.map((p) => p.step_id));
        // Steps only move forward: pending → running → settled, or pending → skipped.
        for (const [id, now] of status) {
          const from = was.get(id) ?? 'pending';
          expect(STEP_MOVES[from] ?? [from], `step ${id}: ${from} → ${now}`).toContain(now);
        }
        // A step starts only when all its dependencies completed.
        if (accepted && event.type === 'flow_run.step_started')
          expect(referenceReady(plan, was)).toContain(event.step_id);
        // The machine's ready wave equals the one computed from the plan.
        expect(readySteps(c).map((s) => s.stepId)).toEqual(referenceReady(plan, status));
        // A failed or cancelled step skips everything that depends on it.
        for (const [id, s] of status) {
          if (s === 'failed' || s === 'cancelled')
            for (const d of dependents(plan, id))
              expect(status.get(d), `${d} after ${id} ${s}`).toBe('skipped');
        }
        const settled = [...status.values()].every((s) => s !== 'pending' && s !== 'running');
        const requiredBroken = [...status].some(
          ([id, s]) => !optional.has(id) && (s === 'failed' || s === 'cancelled'),
        );
        // A failed required step fails the run (unless the run was cancelled first).
        if (requiredBroken) expect(['failed', 'cancelled']).toContain(value);
        // Completed means every required step completed (optional ones may have failed).
        if (value !== 'cancelled')
          expect(value === 'completed').toBe(
            settled && [...status].every(([id, s]) => optional.has(id) || s === 'completed'),
          );
        // With no optional step: completed ⇔ every step not skipped completed.
        if (optional.size === 0 && value !== 'cancelled')
          expect(value === 'completed').toBe(
            [...status.values()].every((s) => s === 'completed' || s === 'skipped'),
          );
        // After a cancel or a failure nothing runs or waits.
        if (value === 'cancelled' || value === 'failed') expect(settled).toBe(true);
        // A running run is never stuck: something runs or is ready to.
        if (value === 'running')
          expect(
            [...status.values()].includes('running') || readySteps(c).length > 0,
            'a running run with nothing running and nothing ready',
          ).toBe(true);
        expect(c.endedAt !== null).toBe(after.status === 'done');
      },
      { cut: cutAt, coverage },
    );
  });
}

export function agentSessionProperty(kind: ActorKind, coverage?: Coverage): HistoryProperty {
  return fc.property(sessionHistory, cut, (events, cutAt) => {
    const sum = { turns: 0, input: 0, output: 0, cost: 0 };
    runHistory(
      kind,
      events,
      ({ before, event, after, accepted, effects }) => {
        const b = before.context as AgentSessionContext;
        const c = after.context as AgentSessionContext;
        if (accepted && event.type === 'agent_session.turn_completed') {
          sum.turns++;
          sum.input += event.input_tokens as number;
          sum.output += event.output_tokens as number;
          sum.cost += event.cost as number;
        }
        // Usage totals are the sum of the completed turns, in the same order.
        expect({
          turns: c.turns,
          input: c.inputTokens,
          output: c.outputTokens,
          cost: c.cost,
        }).toEqual(sum);
        // A turn is open while active, a crash reason kept while crashed, neither otherwise.
        // (A closed session keeps the turn or crash it ended in: nothing reads them there.)
        if (after.value !== 'closed')
          expect(c.currentTurnId !== null).toBe(after.value === 'active');
        if (after.value !== 'closed')
          expect(c.crashReason !== null).toBe(after.value === 'crashed');
        // A turn under another config drops the backend session and starts fresh.
        if (accepted && event.type === 'agent_session.turn_started') {
          expect(c.configHash).toBe(event.config_hash);
          const stale = event.config_hash !== b.configHash;
          expect(effects.includes('startFreshSession')).toBe(stale);
          if (stale) expect(c.agentSessionId).toBeNull();
        }
      },
      { cut: cutAt, coverage },
    );
  });
}

const PROPOSAL_FIELDS = [
  'taskId',
  'workdir',
  'filePath',
  'operation',
  'diff',
  'before',
  'after',
] as const;
const WRITES = new Set(['applying', 'reverting']);
const RESOLVED = new Set(['applied', 'reverting', 'rejected', 'reverted']);

export function pendingChangeProperty(kind: ActorKind, coverage?: Coverage): HistoryProperty {
  return fc.property(changeHistory, cut, (events, cutAt) => {
    runHistory(
      kind,
      events,
      ({ before, event, after, accepted, effects }) => {
        const b = before.context as PendingChangeContext;
        const c = after.context as PendingChangeContext;
        if (after.value === 'new') return;
        expect(c.workdir.startsWith('/')).toBe(true);
        expect(c.filePath === '' || c.filePath.startsWith('/') || c.filePath.startsWith('..')).toBe(
          false,
        );
        // The content fits the operation, so applying and reverting are both defined.
        expect(c.operation === 'create' ? c.before === null : typeof c.before === 'string').toBe(
          true,
        );
        expect(c.operation === 'delete' ? c.after === null : typeof c.after === 'string').toBe(
          true,
        );
        // What was proposed is what gets reviewed: nothing after the proposal changes it.
        if (before.value !== 'new')
          for (const f of PROPOSAL_FIELDS) expect(c[f]).toStrictEqual(b[f]);
        // The disk is touched only on request, and each request asks for exactly its write.
        expect(effects.includes('applyChange')).toBe(
          accepted && event.type === 'pending_change.apply_requested',
        );
        expect(effects.includes('revertChange')).toBe(
          accepted && event.type === 'pending_change.revert_requested',
        );
        if (WRITES.has(after.value as string) && before.value !== after.value)
          expect(event.type).toMatch(/_requested$/);
        // An outcome needs a write in progress.
        if (accepted && /\.(applied|reverted|conflicted)$/.test(event.type))
          expect(WRITES.has(before.value as string)).toBe(true);
        expect(c.resolvedAt !== null).toBe(RESOLVED.has(after.value as string));
        if (after.value === 'rejected' && before.value !== 'rejected')
          expect(before.value).toBe('pending');
      },
      { cut: cutAt, coverage },
    );
  });
}
