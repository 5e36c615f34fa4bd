import { describe, expect, it } from 'vitest';
import { task } from '../../src/machines/index.ts';
import type { TaskContext } from '../../src/machines/task.ts';
import { persist } from '../../src/runtime/replay.ts';
import { drive, tryStep, type Ev } from '../helpers/machines.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-01T01:00:00.000Z';
const created: Ev = {
  type: 'task.created',
  input: 'fix the bug',
  at: T0,
  max_attempts: 2,
  priority: 5,
  project_id: '11111111-1111-4111-8111-111111111111',
};
const claimed = (worker = 'w1'): Ev => ({
  type: 'task.claimed',
  worker_id: worker,
  lease_expires_at: '2026-01-01T00:00:30.000Z',
  at: T0,
});
const blocked: Ev = {
  type: 'task.blocked',
  request_id: 'r1',
  kind: 'permission',
  prompt: 'write file?',
  options: ['allow', 'reject'],
  at: T0,
};
const expired: Ev = { type: 'task.lease_expired', at: LATER };

const ctx = (events: Ev[]) => drive(task, events).context as TaskContext;
const value = (events: Ev[]): unknown => drive(task, events).value as unknown;

const ALL: Ev[] = [
  created,
  claimed(),
  { type: 'task.started', agent: 'scripted', model: null, execution_path: 'scripted', at: T0 },
  { type: 'task.output_appended', chunk: 'hi', at: T0 },
  { type: 'task.usage_recorded', input_tokens: 1, output_tokens: 2, cost_tokens: 3, at: T0 },
  { type: 'task.lease_extended', worker_id: 'w1', lease_expires_at: LATER, at: T0 },
  blocked,
  { type: 'task.request_answered', request_id: 'r1', answer: 'allow', at: T0 },
  { type: 'task.completed', output_summary: 'done', at: T0 },
  { type: 'task.failed', error: 'boom', at: T0 },
  { type: 'task.retried', at: T0 },
  { type: 'task.cancelled', at: T0 },
  expired,
  { type: 'task.released', worker_id: 'w1', at: T0 },
];

describe('task machine', () => {
  it('is created pending with its data', () => {
    const s = drive(task, [created]);
    expect(s.value).toBe('pending');
    expect(s.context).toMatchObject({
      input: 'fix the bug',
      maxAttempts: 2,
      priority: 5,
      projectId: '11111111-1111-4111-8111-111111111111',
      attempts: 0,
      createdAt: T0,
    });
  });

  it('rejects a creation with bad data, and anything but creation first', () => {
    const fresh = drive(task, []);
    expect(tryStep(task, fresh, { ...created, max_attempts: 0 }).accepted).toBe(false);
    expect(tryStep(task, fresh, { ...created, input: 42 }).accepted).toBe(false);
    expect(tryStep(task, fresh, { ...created, priority: 1.5 }).accepted).toBe(false);
    for (const ev of ALL.slice(1)) expect(tryStep(task, fresh, ev).accepted).toBe(false);
  });

  it('claims: running, with a lease and an attempt counted, and asks to start the agent', () => {
    const s = drive(task, [created]);
    const next = tryStep(task, s, claimed());
    expect(next.snapshot.value).toBe('running');
    expect(next.snapshot.context).toMatchObject({
      attempts: 1,
      leaseOwner: 'w1',
      leaseExpiresAt: '2026-01-01T00:00:30.000Z',
    });
    expect(next.effects).toEqual(['startAgent']);
  });

  it('records start, output and usage while running; cost only grows', () => {
    const c = ctx(
      ALL.slice(0, 5).concat([
        { type: 'task.usage_recorded', input_tokens: 10, output_tokens: 0, cost_tokens: 7, at: T0 },
      ]),
    );
    expect(c).toMatchObject({
      agent: 'scripted',
      executionPath: 'scripted',
      startedAt: T0,
      outputChunks: 1,
      costTokens: 10,
      inputTokens: 11,
      outputTokens: 2,
    });
    const running = drive(task, [created, claimed()]);
    expect(
      tryStep(task, running, {
        type: 'task.usage_recorded',
        input_tokens: -1,
        output_tokens: 0,
        cost_tokens: 0,
        at: T0,
      }).accepted,
    ).toBe(false);
    expect(
      tryStep(task, running, {
        type: 'task.usage_recorded',
        input_tokens: 0,
        output_tokens: 0,
        cost_tokens: NaN,
        at: T0,
      }).accepted,
    ).toBe(false);
  });

  it('extends or releases the lease only for the worker holding it', () => {
    const running = drive(task, [created, claimed()]);
    expect(
      tryStep(task, running, {
        type: 'task.lease_extended',
        worker_id: 'w2',
        lease_expires_at: LATER,
        at: T0,
      }).accepted,
    ).toBe(false);
    expect(
      tryStep(task, running, { type: 'task.released', worker_id: 'w2', at: T0 }).accepted,
    ).toBe(false);
    const extended = tryStep(task, running, {
      type: 'task.lease_extended',
      worker_id: 'w1',
      lease_expires_at: LATER,
      at: T0,
    });
    expect(extended.snapshot.context).toMatchObject({ leaseExpiresAt: LATER });
    const released = tryStep(task, running, { type: 'task.released', worker_id: 'w1', at: T0 });
    expect(released.snapshot.value).toBe('pending');
    expect(released.snapshot.context).toMatchObject({
      attempts: 0,
      leaseOwner: null,
      leaseExpiresAt: null,
    });
  });

  it('blocks on a request and resumes only on an answer to that request', () => {
    const b = drive(task, [created, claimed(), blocked]);
    expect(b.value).toBe('blocked');
    expect(b.context).toMatchObject({
      request: { requestId: 'r1', kind: 'permission', options: ['allow', 'reject'] },
    });
    expect(
      tryStep(task, b, { type: 'task.request_answered', request_id: 'other', answer: 'x', at: T0 })
        .accepted,
    ).toBe(false);
    expect(tryStep(task, b, { type: 'task.completed', output_summary: 'x', at: T0 }).accepted).toBe(
      false,
    );
    expect(tryStep(task, b, blocked).accepted).toBe(false);
    const answered = tryStep(task, b, {
      type: 'task.request_answered',
      request_id: 'r1',
      answer: 'allow',
      at: T0,
    });
    expect(answered.snapshot.value).toBe('running');
    expect(answered.snapshot.context).toMatchObject({ request: null });
    expect(answered.effects).toEqual(['deliverAnswer']);
  });

  it('completes and fails with a summary and end time, notifying a parent', () => {
    const done = tryStep(task, drive(task, [created, claimed()]), {
      type: 'task.completed',
      output_summary: 'all good',
      at: LATER,
    });
    expect(done.snapshot.value).toBe('completed');
    expect(done.snapshot.context).toMatchObject({
      outputSummary: 'all good',
      endedAt: LATER,
      leaseOwner: null,
    });
    expect(done.effects).toEqual(['notifyParent']);
    const failed = tryStep(task, drive(task, [created, claimed(), blocked]), {
      type: 'task.failed',
      error: 'boom',
      output_summary: 'half',
      at: LATER,
    });
    expect(failed.snapshot.value).toBe('failed');
    expect(failed.snapshot.context).toMatchObject({
      error: 'boom',
      outputSummary: 'half',
      endedAt: LATER,
      request: null,
    });
  });

  it('retries a failed task while attempts remain, then refuses', () => {
    const fail: Ev = { type: 'task.failed', error: 'boom', at: T0 };
    const retried = drive(task, [created, claimed(), fail, { type: 'task.retried', at: T0 }]);
    expect(retried.value).toBe('pending');
    expect(retried.context).toMatchObject({ attempts: 1, error: null, endedAt: null });
    const spent = drive(task, [
      created,
      claimed(),
      fail,
      { type: 'task.retried', at: T0 },
      claimed(),
      fail,
    ]);
    expect(spent.context).toMatchObject({ attempts: 2 });
    expect(tryStep(task, spent, { type: 'task.retried', at: T0 }).accepted).toBe(false);
  });

  it('cancels from pending, running and blocked, aborting a running agent', () => {
    const cancel: Ev = { type: 'task.cancelled', reason: 'user', at: LATER };
    expect(tryStep(task, drive(task, [created]), cancel).effects).toEqual(['notifyParent']);
    for (const before of [
      [created, claimed()],
      [created, claimed(), blocked],
    ]) {
      const next = tryStep(task, drive(task, before), cancel);
      expect(next.snapshot.value).toBe('cancelled');
      expect(next.effects).toEqual(['abortAgent', 'notifyParent']);
      expect(next.snapshot.context).toMatchObject({
        endedAt: LATER,
        leaseOwner: null,
        request: null,
      });
    }
    expect(
      tryStep(
        task,
        drive(task, [created, claimed(), { type: 'task.failed', error: 'x', at: T0 }]),
        cancel,
      ).accepted,
    ).toBe(false);
  });

  it('turns an expired lease into pending while attempts remain, failed after', () => {
    const first = drive(task, [created, claimed(), expired]);
    expect(first.value).toBe('pending');
    expect(first.context).toMatchObject({ attempts: 1, leaseOwner: null });
    const second = drive(task, [created, claimed(), expired, claimed('w2'), expired]);
    expect(second.value).toBe('failed');
    expect(second.context).toMatchObject({
      attempts: 2,
      error: expect.stringContaining('lease expired') as string,
    });
    // A sweeper whose clock is before the deadline is refused.
    const early = tryStep(task, drive(task, [created, claimed()]), {
      type: 'task.lease_expired',
      at: T0,
    });
    expect(early.accepted).toBe(false);
    expect(value([created, claimed(), blocked, expired])).toBe('pending');
  });

  it('absorbs every event once completed or cancelled', () => {
    for (const end of [
      [created, claimed(), { type: 'task.completed', output_summary: 'x', at: T0 }],
      [created, { type: 'task.cancelled', at: T0 }],
    ]) {
      const s = drive(task, end);
      expect(s.status).toBe('done');
      for (const ev of ALL) {
        const next = tryStep(task, s, ev);
        expect(next.accepted).toBe(false);
        expect(next.snapshot).toBe(s);
      }
    }
  });
});

describe('task machine: malformed events are refused', () => {
  const running = () => drive(task, [created, claimed()]);
  it.each<[string, Ev[], Ev]>([
    ['a project id that is not a UUID', [], { ...created, project_id: 'p1' }],
    ['a creation time that is not ISO-8601', [], { ...created, at: 'yesterday' }],
    ['a claim with no worker', [created], { ...claimed(), worker_id: '' }],
    ['a claim with no lease deadline', [created], { ...claimed(), lease_expires_at: 'soon' }],
    [
      'a start on an unknown path',
      [created, claimed()],
      { type: 'task.started', agent: 'x', model: null, execution_path: 'ssh', at: T0 },
    ],
    ['a block of an unknown kind', [created, claimed()], { ...blocked, kind: 'vote' }],
    ['a block whose options are not text', [created, claimed()], { ...blocked, options: [1, 2] }],
    ['a completion without a summary', [created, claimed()], { type: 'task.completed', at: T0 }],
    ['a failure without an error', [created, claimed()], { type: 'task.failed', at: T0 }],
  ])('%s', (_name, before, event) => {
    expect(
      tryStep(task, before.length ? drive(task, before) : drive(task, []), event).accepted,
    ).toBe(false);
  });

  it('dismisses a failed task once, and a retry brings it back', () => {
    const failed = drive(task, [created, claimed(), { type: 'task.failed', error: 'x', at: T0 }]);
    const dismissed = tryStep(task, failed, { type: 'task.dismissed', at: T0 });
    expect(dismissed.snapshot.value).toBe('failed');
    expect(dismissed.snapshot.context).toMatchObject({ dismissed: true });
    expect(tryStep(task, dismissed.snapshot, { type: 'task.dismissed', at: T0 }).accepted).toBe(
      false,
    );
    const retried = tryStep(task, dismissed.snapshot, { type: 'task.retried', at: T0 });
    expect(retried.snapshot.context).toMatchObject({ dismissed: false });
    expect(tryStep(task, running(), { type: 'task.dismissed', at: T0 }).accepted).toBe(false);
  });

  it('records a start without a model as null, so its snapshot survives being stored as JSON', () => {
    const started = drive(task, [
      created,
      claimed(),
      { type: 'task.started', agent: 'scripted', execution_path: 'scripted', at: T0 },
    ]);
    expect((started.context as TaskContext).model).toBeNull();
    const state = persist(started);
    expect(JSON.parse(JSON.stringify(state))).toStrictEqual(state);
  });
});
