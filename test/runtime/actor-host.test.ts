import { randomUUID } from 'node:crypto';
import { assign } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IllegalStateError, ValidationError } from '../../src/errors.ts';
import { task } from '../../src/machines/index.ts';
import { taskMachine, type TaskContext } from '../../src/machines/task.ts';
import type { FlowRunContext } from '../../src/machines/flow-run.ts';
import {
  createRuntime,
  type EffectContext,
  type RuntimeOptions,
} from '../../src/runtime/actor-host.ts';
import { flowEffects, resumeFlows, stepTaskId } from '../../src/runtime/flows.ts';
import { fold } from '../../src/runtime/replay.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createPool } from '../../src/store/db.ts';
import { createSnapshotStore } from '../../src/store/snapshots.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const at = () => new Date().toISOString();
function runtimeOn(pool = db.pool, extra: Partial<RuntimeOptions> = {}) {
  return createRuntime({
    pool,
    store: createEventStore(pool),
    snapshots: createSnapshotStore(pool),
    ...extra,
  });
}
const lease = () => new Date(Date.now() + 60_000).toISOString();
type TestRuntime = ReturnType<typeof runtimeOn>;
const create = (runtime: TestRuntime, id: string) =>
  runtime.send('task', id, { type: 'task.created', input: 'x', at: at() });
const claim = (runtime: TestRuntime, id: string, worker = 'w1') =>
  runtime.send('task', id, {
    type: 'task.claimed',
    worker_id: worker,
    lease_expires_at: lease(),
    at: at(),
  });

async function countEvents(streamId: string) {
  const { rows } = await db.pool.query<{ n: number }>(
    'select count(*)::int as n from events where stream_id = $1',
    [streamId],
  );
  return rows[0]!.n;
}

describe('actor host', () => {
  it('appends one event per transition, and replaying the log reproduces the live snapshot, with or without snapshots', async () => {
    for (const snapshotEvery of [0, 3]) {
      const runtime = runtimeOn(db.pool, { snapshotEvery });
      const id = randomUUID();
      await runtime.send('task', id, {
        type: 'task.created',
        input: 'hello',
        at: at(),
        max_attempts: 3,
      });
      await claim(runtime, id, 'w1');
      for (let i = 0; i < 7; i++)
        await runtime.send('task', id, {
          type: 'task.output_appended',
          chunk: `line ${i}`,
          at: at(),
        });
      await runtime.send('task', id, {
        type: 'task.usage_recorded',
        input_tokens: 3,
        output_tokens: 4,
        cost_tokens: 7,
        at: at(),
      });
      const live = await runtime.send('task', id, {
        type: 'task.blocked',
        request_id: 'r1',
        kind: 'question',
        prompt: 'which?',
        options: ['a', 'b'],
        at: at(),
      });
      expect(live.version).toBe(11);
      expect(live.event.meta).toMatchObject({
        machine_version: task.version,
        state_after: { value: 'blocked', attempts: 1 },
      });

      const events = await createEventStore(db.pool).readStream(id);
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
      const replayed = fold(task, events);
      expect(replayed.value).toEqual(live.snapshot.value);
      expect(replayed.context).toEqual(live.snapshot.context);

      // A second runtime (nothing in memory) loads the same state, through snapshots when there are some.
      const other = runtimeOn(db.pool, { snapshotEvery });
      const loaded = await other.load('task', id);
      expect(loaded.version).toBe(11);
      expect(loaded.snapshot.context).toEqual(live.snapshot.context);
      const { rows } = await db.pool.query(
        'select version from snapshots where stream_id = $1 order by version',
        [id],
      );
      expect(rows.map((r: { version: number }) => r.version)).toEqual(
        snapshotEvery ? [3, 6, 9] : [],
      );

      // Time travel: the state after version 2 is running with no output, whatever came later.
      const past = await other.loadAt('task', id, 2);
      expect(past.snapshot.value).toBe('running');
      expect((past.snapshot.context as TaskContext).outputChunks).toBe(0);
      await expect(other.loadAt('task', id, 99)).rejects.toThrow(/no version 99/);
    }
  });

  it('refuses an event the state does not take, naming the state and what it takes, appending nothing', async () => {
    const runtime = runtimeOn();
    const id = randomUUID();
    await create(runtime, id);
    const error = await runtime
      .send('task', id, { type: 'task.completed', output_summary: 'x', at: at() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IllegalStateError);
    expect((error as Error).message).toMatch(
      /is "pending" and does not take task.completed now; it takes task.cancelled, task.claimed/,
    );
    expect(await countEvents(id)).toBe(1);
    await expect(
      runtime.send('task', 'nope', { type: 'task.created', input: 'x', at: at() }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      runtime.send('job' as 'task', id, { type: 'task.created', input: 'x', at: at() }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      runtime.send('task', id, { type: 'task.claimed', worker_id: 'w', lease_expires_at: lease() }),
    ).rejects.toThrow(/needs `at`/);
    // The state takes claims, but not this one: the refusal says why.
    await expect(
      runtime.send('task', id, {
        type: 'task.claimed',
        worker_id: '',
        lease_expires_at: lease(),
        at: at(),
      }),
    ).rejects.toThrow(/\("pending"\) refuses this task.claimed: a field is missing or malformed/);
    await expect(
      runtime.send('task', id, { type: 'task.cancelled', at: '2026-13-45 nonsense' }),
    ).rejects.toBeInstanceOf(ValidationError);
    // A stream of one type cannot be driven as another.
    await expect(
      runtimeOn().send('flow_run', id, { type: 'flow_run.cancelled', at: at() }),
    ).rejects.toBeInstanceOf(ValidationError);
    // Creating it again from a runtime that never saw it (which decides without reading the
    // log) is refused by the append's version check, then by the state.
    await expect(
      runtimeOn().send('task', id, { type: 'task.created', input: 'again', at: at() }),
    ).rejects.toThrow(/is "pending" and does not take task.created/);
    await expect(
      runtimeOn().send('flow_run', id, {
        type: 'flow_run.created',
        flow_name: 'f',
        band: 'small',
        input: { question: 'q' },
        steps: [{ step_id: 'a', kind: 'agent' }],
        at: at(),
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await countEvents(id)).toBe(1);
  });

  it('keeps versions contiguous when two runtimes on two pools send to one stream at once', async () => {
    const otherPool = createPool(db.url, 4);
    try {
      const a = runtimeOn(db.pool);
      const b = runtimeOn(otherPool);
      const id = randomUUID();
      await create(a, id);
      await claim(a, id, 'w1');
      await b.load('task', id); // b caches version 2, soon stale
      const sends = (r: typeof a, who: string) =>
        Promise.all(
          Array.from({ length: 15 }, (_, i) =>
            r.send('task', id, { type: 'task.output_appended', chunk: `${who}${i}`, at: at() }),
          ),
        );
      await Promise.all([sends(a, 'a'), sends(b, 'b')]);
      const events = await createEventStore(db.pool).readStream(id);
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
      const chunks = events.slice(2).map((e) => e.data.chunk as string);
      expect(new Set(chunks).size).toBe(30);
      expect(
        ((await runtimeOn().load('task', id)).snapshot.context as TaskContext).outputChunks,
      ).toBe(30);
    } finally {
      await otherPool.end();
    }
  });

  it('runs effects once, after commit, and never for an event that did not commit', async () => {
    const seen: { name: string; committed: number }[] = [];
    const effect = async ({ name, event }: EffectContext) => {
      const { rows } = await db.pool.query<{ n: number }>(
        'select count(*)::int as n from events where position = $1',
        [event.position],
      );
      seen.push({ name, committed: rows[0]!.n });
    };
    let failInline = false;
    const runtime = runtimeOn(db.pool, {
      effects: { startAgent: effect, abortAgent: effect },
      inline: () =>
        failInline ? Promise.reject(new Error('projection failed')) : Promise.resolve(),
    });
    const id = randomUUID();
    await create(runtime, id);
    await claim(runtime, id, 'w1');
    await runtime.drain();
    expect(seen).toEqual([{ name: 'startAgent', committed: 1 }]);

    failInline = true;
    await expect(runtime.send('task', id, { type: 'task.cancelled', at: at() })).rejects.toThrow(
      'projection failed',
    );
    await runtime.drain();
    expect(seen).toHaveLength(1);
    expect(await countEvents(id)).toBe(2);
    expect((await runtime.load('task', id)).snapshot.value).toBe('running');

    failInline = false;
    await runtime.send('task', id, { type: 'task.cancelled', at: at() });
    await runtime.drain();
    expect(seen.map((s) => s.name)).toEqual(['startAgent', 'abortAgent']);
    expect(runtime.liveActors).toBe(0); // terminal actors leave memory
  });

  it('runs a flow to the same end after a restart in the middle', async () => {
    const plan = [
      { step_id: 'a', kind: 'agent', depends_on: [] },
      { step_id: 'b', kind: 'agent', depends_on: ['a'] },
      { step_id: 'c', kind: 'agent', depends_on: ['a'] },
    ];
    const finishTask = async (runtime: TestRuntime, taskId: string) => {
      await claim(runtime, taskId, 'w');
      await runtime.send('task', taskId, {
        type: 'task.completed',
        output_summary: `done ${taskId}`,
        at: at(),
      });
    };

    const runId = randomUUID();
    const first = runtimeOn(db.pool, { effects: flowEffects() });
    await first.send('flow_run', runId, {
      type: 'flow_run.created',
      flow_name: 'f',
      band: 'small',
      input: { question: 'q' },
      steps: plan,
      at: at(),
    });
    await first.drain();
    const afterCreate = await first.load('flow_run', runId);
    expect((afterCreate.snapshot.context as FlowRunContext).steps.map((s) => s.status)).toEqual([
      'running',
      'pending',
      'pending',
    ]);

    // The process dies right after task a commits: its notifyParent effect never runs.
    const dying = runtimeOn(db.pool); // no effects at all
    await finishTask(dying, stepTaskId(runId, 'a'));

    // A new process starts on the same database and resumes.
    const second = runtimeOn(db.pool, { effects: flowEffects() });
    expect(await resumeFlows(db.pool, second)).toBeGreaterThanOrEqual(1);
    await second.drain();
    const resumed = (await second.load('flow_run', runId)).snapshot.context as FlowRunContext;
    expect(resumed.steps.map((s) => s.status)).toEqual(['completed', 'running', 'running']);
    // Resuming twice does nothing more.
    await resumeFlows(db.pool, second);
    await second.drain();
    const versionBefore = (await second.load('flow_run', runId)).version;
    await finishTask(second, stepTaskId(runId, 'b'));
    await finishTask(second, stepTaskId(runId, 'c'));
    await second.drain();
    const end = await runtimeOn().load('flow_run', runId);
    expect(end.snapshot.value).toBe('completed');
    expect(end.version).toBe(versionBefore + 2);
    expect((end.snapshot.context as FlowRunContext).steps.map((s) => s.output)).toEqual(
      ['a', 'b', 'c'].map((s) => `done ${stepTaskId(runId, s)}`),
    );
    // Exactly one task per step exists.
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(distinct stream_id)::int as n from events where type = 'task.created' and data->>'run_id' = $1`,
      [runId],
    );
    expect(rows[0]!.n).toBe(3);
  });

  it('cancels the running step tasks when a run fails', async () => {
    const runId = randomUUID();
    const runtime = runtimeOn(db.pool, { effects: flowEffects() });
    await runtime.send('flow_run', runId, {
      type: 'flow_run.created',
      flow_name: 'f',
      band: 'small',
      input: { question: 'q' },
      steps: [
        { step_id: 'a', kind: 'agent' },
        { step_id: 'b', kind: 'agent' },
      ],
      at: at(),
    });
    await runtime.drain();
    const a = stepTaskId(runId, 'a');
    await claim(runtime, a, 'w');
    await runtime.send('task', a, { type: 'task.failed', error: 'agent crashed', at: at() });
    await runtime.drain();
    expect((await runtime.load('flow_run', runId)).snapshot.value).toBe('failed');
    expect((await runtime.load('task', stepTaskId(runId, 'b'))).snapshot.value).toBe('cancelled');
  });

  it('verifyStream passes on an honest history and reports a deliberately altered machine', async () => {
    const runtime = runtimeOn();
    const id = randomUUID();
    await create(runtime, id);
    await claim(runtime, id, 'w1');
    await runtime.send('task', id, { type: 'task.completed', output_summary: 'ok', at: at() });
    expect(await runtime.verifyStream('task', id)).toEqual({ ok: true, mismatches: [] });
    await expect(runtime.verifyStream('flow_run', id)).rejects.toBeInstanceOf(ValidationError);

    // A changed machine: claiming no longer counts an attempt.
    const altered = runtimeOn(db.pool, {
      kinds: {
        task: {
          ...task,
          machine: taskMachine.provide({
            actions: {
              recordClaim: assign(({ event }) =>
                event.type === 'task.claimed' ? { leaseOwner: event.worker_id } : {},
              ),
            },
          }),
        },
      },
    });
    const report = await altered.verifyStream('task', id);
    expect(report.ok).toBe(false);
    expect(report.mismatches[0]).toEqual({
      streamId: id,
      version: 2,
      recorded: { value: 'running', attempts: 1 },
      replayed: { value: 'running', attempts: 0 },
    });
  });

  it('verifyStream passes on an honest flow run, whose recorded state jsonb stored with its keys reordered', async () => {
    const runtime = runtimeOn();
    const runId = randomUUID();
    await runtime.send('flow_run', runId, {
      type: 'flow_run.created',
      flow_name: 'f',
      band: 'small',
      input: { question: 'q' },
      steps: [{ step_id: 'a', kind: 'agent' }],
      at: at(),
    });
    await runtime.send('flow_run', runId, { type: 'flow_run.cancelled', reason: 'stop', at: at() });
    expect(await runtime.verifyStream('flow_run', runId)).toEqual({ ok: true, mismatches: [] });
  });
});
