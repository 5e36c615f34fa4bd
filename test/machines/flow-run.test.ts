import { describe, expect, it } from 'vitest';
import { flowRun } from '../../src/machines/index.ts';
import { planProblem, readySteps, type FlowRunContext } from '../../src/machines/flow-run.ts';
import { drive, tryStep, type Ev } from '../helpers/machines.ts';

const T = '2026-01-01T00:00:00.000Z';
// a → b → d, c independent, d also needs c; e optional after a, f after e.
const plan = [
  { step_id: 'a', kind: 'agent' },
  { step_id: 'b', kind: 'agent', depends_on: ['a'] },
  { step_id: 'c', kind: 'code' },
  { step_id: 'd', kind: 'agent', depends_on: ['b', 'c'] },
  { step_id: 'e', kind: 'agent', depends_on: ['a'], optional: true },
  { step_id: 'f', kind: 'agent', depends_on: ['e'] },
];
const created: Ev = {
  type: 'flow_run.created',
  flow_name: 'review',
  band: 'small',
  input: { question: 'why?' },
  steps: plan,
  at: T,
};
const started = (id: string): Ev => ({
  type: 'flow_run.step_started',
  step_id: id,
  task_id: `00000000-0000-4000-8000-00000000000${id.charCodeAt(0) - 96}`,
  at: T,
});
const completed = (id: string): Ev => ({
  type: 'flow_run.step_completed',
  step_id: id,
  output: `out ${id}`,
  at: T,
});
const failed = (id: string): Ev => ({
  type: 'flow_run.step_failed',
  step_id: id,
  error: 'boom',
  at: T,
});

const statuses = (s: { context: unknown }) =>
  Object.fromEntries((s.context as FlowRunContext).steps.map((x) => [x.stepId, x.status]));
const ready = (s: { context: unknown }) =>
  readySteps(s.context as FlowRunContext).map((x) => x.stepId);

describe('flow run machine', () => {
  it('validates the plan: unique ids, known dependencies, no cycles, a question and a band', () => {
    expect(planProblem(plan)).toBeNull();
    expect(
      planProblem([
        { step_id: 'a', kind: 'agent' },
        { step_id: 'a', kind: 'agent' },
      ]),
    ).toMatch(/duplicate/);
    expect(planProblem([{ step_id: 'a', kind: 'agent', depends_on: ['z'] }])).toMatch(
      /unknown step z/,
    );
    expect(
      planProblem([
        { step_id: 'a', kind: 'agent', depends_on: ['b'] },
        { step_id: 'b', kind: 'agent', depends_on: ['a'] },
      ]),
    ).toMatch(/cycle/);
    expect(planProblem([{ step_id: 'a', kind: 'shell' }])).toMatch(/kind/);
    const fresh = drive(flowRun, []);
    expect(tryStep(flowRun, fresh, { ...created, band: 'huge' }).accepted).toBe(false);
    expect(tryStep(flowRun, fresh, { ...created, input: {} }).accepted).toBe(false);
    expect(
      tryStep(flowRun, fresh, {
        ...created,
        steps: [{ step_id: 'a', kind: 'agent', depends_on: ['a'] }],
      }).accepted,
    ).toBe(false);
  });

  it('derives the ready wave and starts only ready steps', () => {
    const s = tryStep(flowRun, drive(flowRun, []), created);
    expect(s.snapshot.value).toBe('running');
    expect(s.effects).toEqual(['startReadySteps']);
    expect(ready(s.snapshot)).toEqual(['a', 'c']);
    expect(tryStep(flowRun, s.snapshot, started('b')).accepted).toBe(false);
    const afterA = drive(flowRun, [created, started('a'), completed('a')]);
    expect(ready(afterA)).toEqual(['b', 'c', 'e']);
    expect(tryStep(flowRun, afterA, completed('a')).accepted).toBe(false);
    expect(tryStep(flowRun, afterA, started('a')).accepted).toBe(false);
  });

  it('completes when every step has settled and no required step failed', () => {
    const events = [created];
    for (const id of ['a', 'c', 'b', 'e', 'd', 'f']) events.push(started(id), completed(id));
    const s = drive(flowRun, events);
    expect(s.value).toBe('completed');
    expect(Object.values(statuses(s))).toEqual(Array(6).fill('completed'));
  });

  it('completes when an optional step fails and only optional steps needed it', () => {
    const optionalTail = plan.map((p) => (p.step_id === 'f' ? { ...p, optional: true } : p));
    const s = drive(flowRun, [
      { ...created, steps: optionalTail },
      started('a'),
      completed('a'),
      started('e'),
      failed('e'),
      started('b'),
      started('c'),
      completed('b'),
      completed('c'),
      started('d'),
      completed('d'),
    ]);
    expect(statuses(s)).toMatchObject({ e: 'failed', f: 'skipped', d: 'completed' });
    expect(s.value).toBe('completed');
  });

  it('fails when an optional step fails and a required step needed it: that step can never run', () => {
    const s = drive(flowRun, [created, started('a'), completed('a'), started('e'), failed('e')]);
    expect(s.value).toBe('failed');
    expect(statuses(s)).toMatchObject({ e: 'failed', f: 'skipped' });
    expect((s.context as FlowRunContext).error).toBe(
      'step f could not run: a step it depends on failed',
    );
  });

  it('fails the run when a required step fails: running steps cancelled (their tasks too), the rest skipped', () => {
    const before = drive(flowRun, [created, started('a'), started('c')]);
    const next = tryStep(flowRun, before, failed('a'));
    expect(next.snapshot.value).toBe('failed');
    expect(statuses(next.snapshot)).toEqual({
      a: 'failed',
      b: 'skipped',
      c: 'cancelled',
      d: 'skipped',
      e: 'skipped',
      f: 'skipped',
    });
    expect(next.effects).toContain('cancelStepTasks');
    expect((next.snapshot.context as FlowRunContext).error).toMatch(/step a failed/);
  });

  it('treats a cancelled required step as a failure of the run', () => {
    const s = drive(flowRun, [
      created,
      started('a'),
      { type: 'flow_run.step_cancelled', step_id: 'a', at: T },
    ]);
    expect(s.value).toBe('failed');
  });

  it('cancels: no step left running or pending, and absorbs everything after', () => {
    const s = drive(flowRun, [
      created,
      started('a'),
      started('c'),
      { type: 'flow_run.cancelled', reason: 'user', at: T },
    ]);
    expect(s.value).toBe('cancelled');
    expect(Object.values(statuses(s)).filter((x) => x === 'running' || x === 'pending')).toEqual(
      [],
    );
    for (const ev of [
      completed('a'),
      started('b'),
      created,
      { type: 'flow_run.cancelled', at: T },
    ]) {
      expect(tryStep(flowRun, s, ev).accepted).toBe(false);
    }
  });

  it('completes at once with an empty plan', () => {
    expect(drive(flowRun, [{ ...created, steps: [] }]).value).toBe('completed');
  });
});
