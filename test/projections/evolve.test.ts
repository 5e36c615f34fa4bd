import { describe, expect, it } from 'vitest';
import { agentSessionsProjection } from '../../src/projections/agent-sessions.ts';
import { flowRunsProjection } from '../../src/projections/flow-runs.ts';
import { flowStepsProjection } from '../../src/projections/flow-steps.ts';
import { humanInboxProjection } from '../../src/projections/human-inbox.ts';
import { pendingChangesProjection } from '../../src/projections/pending-changes.ts';
import { tasksProjection } from '../../src/projections/tasks.ts';
import { keyString } from '../../src/projections/sql.ts';
import type { Projection, Row } from '../../src/projections/types.ts';
import type { StoredEvent } from '../../src/store/types.ts';
import { storedEvents } from '../helpers/events.ts';
import type { Ev } from '../helpers/machines.ts';

const TASK = 'aaaaaaaa-0000-4000-8000-000000000001';
const RUN = 'bbbbbbbb-0000-4000-8000-000000000001';
const CHANGE = 'cccccccc-0000-4000-8000-000000000001';
const SESSION = 'dddddddd-0000-4000-8000-000000000001';
const CHAT = 'eeeeeeee-0000-4000-8000-000000000001';
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/** Folds events through one projection; returns every row by key after each event. */
function fold(projection: Projection, events: StoredEvent[]): Map<string, Row>[] {
  const rows = new Map<string, Row>();
  return events.map((event) => {
    for (const key of projection.keysOf(event)) {
      const k = keyString(projection, key);
      const after = projection.evolve(rows.get(k) ?? null, event, key);
      if (after === null) rows.delete(k);
      else rows.set(k, after);
    }
    return new Map(rows);
  });
}
const last = <T>(xs: T[]) => xs[xs.length - 1]!;

const created: Ev = {
  type: 'task.created',
  input: 'fix it',
  at: t(0),
  priority: 2,
  max_attempts: 2,
  project_id: CHAT,
};
const claimed = (s: number): Ev => ({
  type: 'task.claimed',
  worker_id: 'w1',
  lease_expires_at: t(s + 30),
  at: t(s),
});

describe('tasks projection', () => {
  it('follows a task through its life', () => {
    const events = storedEvents('task', TASK, [
      created,
      claimed(1),
      { type: 'task.started', agent: 'scripted', model: 'm', execution_path: 'scripted', at: t(2) },
      { type: 'task.output_appended', chunk: 'a', at: t(3) },
      { type: 'task.usage_recorded', input_tokens: 3, output_tokens: 4, cost_tokens: 5, at: t(3) },
      { type: 'task.usage_recorded', input_tokens: 1, output_tokens: 1, cost_tokens: 2, at: t(4) },
      { type: 'task.completed', output_summary: 'done', at: t(5) },
    ]);
    const rows = fold(tasksProjection, events).map((m) => m.get(JSON.stringify(TASK)));
    expect(rows[0]).toMatchObject({
      id: TASK,
      state: 'pending',
      input: 'fix it',
      priority: 2,
      max_attempts: 2,
      attempts: 0,
      project_id: CHAT,
      created_at: t(0),
      version: 1,
    });
    expect(rows[1]).toMatchObject({
      state: 'running',
      attempts: 1,
      lease_owner: 'w1',
      lease_expires_at: t(31),
    });
    expect(rows[2]).toMatchObject({
      agent: 'scripted',
      model: 'm',
      execution_path: 'scripted',
      started_at: t(2),
    });
    expect(last(rows)).toMatchObject({
      state: 'completed',
      output_summary: 'done',
      ended_at: t(5),
      cost_tokens: 7,
      input_tokens: 4,
      output_tokens: 5,
      output_chunks: 1,
      lease_owner: null,
      version: 7,
      updated_at: t(5),
    });
  });

  it('records failure, retry, lease expiry and release', () => {
    const events = storedEvents('task', TASK, [
      created,
      claimed(1),
      { type: 'task.failed', error: 'boom', at: t(2) },
      { type: 'task.retried', at: t(3) },
      claimed(4),
      { type: 'task.lease_expired', at: t(40) },
    ]);
    const rows = fold(tasksProjection, events).map((m) => m.get(JSON.stringify(TASK)));
    expect(rows[2]).toMatchObject({ state: 'failed', error: 'boom', ended_at: t(2) });
    expect(rows[3]).toMatchObject({ state: 'pending', error: null, ended_at: null, attempts: 1 });
    expect(rows[5]).toMatchObject({
      state: 'failed',
      attempts: 2,
      error: expect.stringMatching(/lease expired/) as string,
      lease_owner: null,
    });
  });
});

describe('human_inbox projection', () => {
  it('holds a blocked task until answered, and a failed task until retried or dismissed', () => {
    const events = storedEvents('task', TASK, [
      created,
      claimed(1),
      {
        type: 'task.blocked',
        request_id: 'r1',
        kind: 'permission',
        prompt: 'write a.ts?',
        at: t(2),
      },
      { type: 'task.request_answered', request_id: 'r1', answer: 'allow', at: t(3) },
      { type: 'task.failed', error: 'boom', at: t(4) },
      { type: 'task.retried', at: t(5) },
      claimed(6),
      {
        type: 'task.blocked',
        request_id: 'r2',
        kind: 'question',
        prompt: 'which db?',
        options: ['pg', 'sqlite'],
        at: t(7),
      },
      { type: 'task.failed', error: 'gave up', at: t(8) },
      { type: 'task.dismissed', at: t(9) },
    ]);
    const states = fold(humanInboxProjection, events).map(
      (m) => m.get(JSON.stringify(TASK)) ?? null,
    );
    expect(states[2]).toMatchObject({
      kind: 'permission',
      request_id: 'r1',
      prompt: 'write a.ts?',
      actions: ['allow', 'reject'],
      task_id: TASK,
    });
    expect(states[3]).toBeNull();
    expect(states[4]).toMatchObject({
      kind: 'failed_task',
      prompt: 'boom',
      actions: ['retry', 'dismiss'],
    });
    expect(states[5]).toBeNull();
    expect(states[7]).toMatchObject({
      kind: 'question',
      options: ['pg', 'sqlite'],
      actions: ['answer'],
    });
    // Out of attempts: only dismiss is offered.
    expect(states[8]).toMatchObject({
      kind: 'failed_task',
      prompt: 'gave up',
      actions: ['dismiss'],
    });
    expect(states[9]).toBeNull();
  });

  it('holds a proposed change until applied or rejected', () => {
    const proposed: Ev = {
      type: 'pending_change.proposed',
      task_id: TASK,
      workdir: '/srv/project',
      file_path: 'src/a.ts',
      operation: 'edit',
      diff: '-a\n+b',
      before: 'a\n',
      after: 'b\n',
      agent: 'claude',
      at: t(1),
    };
    const applied = fold(
      humanInboxProjection,
      storedEvents('pending_change', CHANGE, [
        proposed,
        { type: 'pending_change.apply_requested', at: t(2) },
        { type: 'pending_change.conflicted', reason: 'src/a.ts changed', at: t(3) },
        { type: 'pending_change.apply_requested', at: t(4) },
        { type: 'pending_change.applied', at: t(5) },
      ]),
    );
    expect(applied[0]!.get(JSON.stringify(CHANGE))).toMatchObject({
      kind: 'pending_change',
      change_id: CHANGE,
      task_id: TASK,
      prompt: 'edit src/a.ts',
      actions: ['apply', 'reject'],
    });
    // Applying keeps it waiting; a conflict says why; applied, it is gone.
    expect(applied[1]!.get(JSON.stringify(CHANGE))).toMatchObject({ kind: 'pending_change' });
    expect(applied[2]!.get(JSON.stringify(CHANGE))).toMatchObject({
      details: { conflict: 'src/a.ts changed', file_path: 'src/a.ts' },
    });
    expect(applied[4]!.size).toBe(0);
    const rejected = fold(
      humanInboxProjection,
      storedEvents('pending_change', CHANGE, [
        proposed,
        { type: 'pending_change.rejected', reason: 'no', at: t(2) },
      ]),
    );
    expect(rejected[1]!.size).toBe(0);
  });
});

describe('pending_changes projection', () => {
  it('tracks a change to applied and reverted', () => {
    const rows = fold(
      pendingChangesProjection,
      storedEvents('pending_change', CHANGE, [
        {
          type: 'pending_change.proposed',
          task_id: TASK,
          session_id: SESSION,
          workdir: '/srv/project',
          file_path: 'a.ts',
          operation: 'create',
          diff: '+x',
          before: null,
          after: 'x\n',
          at: t(1),
        },
        { type: 'pending_change.apply_requested', at: t(2) },
        { type: 'pending_change.applied', at: t(2) },
        { type: 'pending_change.revert_requested', at: t(3) },
        { type: 'pending_change.reverted', at: t(3) },
      ]),
    ).map((m) => m.get(JSON.stringify(CHANGE)));
    expect(rows[0]).toMatchObject({
      status: 'pending',
      operation: 'create',
      session_id: SESSION,
      created_at: t(1),
    });
    expect(rows[1]).toMatchObject({ status: 'pending' }); // applying: still pending until written
    expect(rows[2]).toMatchObject({ status: 'applied', updated_at: t(2) });
    expect(rows[3]).toMatchObject({ status: 'applied' }); // reverting
    expect(rows[4]).toMatchObject({ status: 'reverted', version: 5 });
  });
});

describe('agent_sessions projection', () => {
  it('sums turns and drops the backend session on a config change or crash', () => {
    const rows = fold(
      agentSessionsProjection,
      storedEvents('agent_session', SESSION, [
        {
          type: 'agent_session.opened',
          chat_id: CHAT,
          agent: 'claude',
          backend: 'acp_warm',
          config_hash: 'h1',
          at: t(0),
        },
        { type: 'agent_session.backend_attached', agent_session_id: 'b1', at: t(1) },
        { type: 'agent_session.turn_started', turn_id: 't1', config_hash: 'h1', at: t(2) },
        {
          type: 'agent_session.turn_completed',
          turn_id: 't1',
          input_tokens: 10,
          output_tokens: 5,
          cost: 0.5,
          at: t(3),
        },
        { type: 'agent_session.turn_started', turn_id: 't2', config_hash: 'h2', at: t(4) },
        { type: 'agent_session.crashed', reason: 'exit 1', at: t(5) },
      ]),
    ).map((m) => m.get(JSON.stringify(SESSION)));
    expect(rows[1]).toMatchObject({ agent_session_id: 'b1', status: 'idle' });
    expect(rows[3]).toMatchObject({
      turns: 1,
      input_tokens: 10,
      output_tokens: 5,
      cost: 0.5,
      status: 'idle',
      agent_session_id: 'b1',
    });
    expect(rows[4]).toMatchObject({ status: 'active', agent_session_id: null, config_hash: 'h2' });
    expect(rows[5]).toMatchObject({
      status: 'crashed',
      crash_reason: 'exit 1',
      last_active_at: t(5),
    });
  });
});

describe('flow_runs and flow_steps projections', () => {
  it('create a row per step and follow the run to failure, with the cascade the machine decided', () => {
    const events = storedEvents('flow_run', RUN, [
      {
        type: 'flow_run.created',
        flow_name: 'review',
        band: 'medium',
        input: { question: 'q' },
        at: t(0),
        steps: [
          { step_id: 'a', kind: 'agent', agent: 'claude' },
          { step_id: 'b', kind: 'code', depends_on: ['a'] },
          { step_id: 'c', kind: 'agent' },
        ],
      },
      { type: 'flow_run.step_started', step_id: 'a', task_id: TASK, at: t(1) },
      { type: 'flow_run.step_started', step_id: 'c', task_id: CHANGE, at: t(1) },
      { type: 'flow_run.step_failed', step_id: 'a', error: 'boom', at: t(2) },
    ]);
    const runs = fold(flowRunsProjection, events).map((m) => m.get(JSON.stringify(RUN)));
    expect(runs[0]).toMatchObject({
      status: 'running',
      band: 'medium',
      flow_name: 'review',
      input: { question: 'q' },
      ended_at: null,
    });
    expect(runs[3]).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/step a failed/) as string,
      ended_at: t(2),
    });
    const steps = fold(flowStepsProjection, events);
    const row = (i: number, id: string) =>
      steps[i]!.get(`${JSON.stringify(RUN)},${JSON.stringify(id)}`);
    expect(row(0, 'b')).toMatchObject({
      kind: 'code',
      depends_on: ['a'],
      status: 'pending',
      optional: false,
    });
    expect(row(1, 'a')).toMatchObject({ status: 'running', task_id: TASK, updated_at: t(1) });
    // Untouched steps keep their row object (and so are not rewritten).
    expect(row(1, 'b')).toBe(row(0, 'b'));
    expect(row(3, 'a')).toMatchObject({ status: 'failed', error: 'boom' });
    expect(row(3, 'b')).toMatchObject({ status: 'skipped' });
    expect(row(3, 'c')).toMatchObject({ status: 'cancelled', task_id: CHANGE });
  });
});
