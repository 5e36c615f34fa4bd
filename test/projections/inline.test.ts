import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECTIONS } from '../../src/projections/index.ts';
import type { Projection } from '../../src/projections/types.ts';
import { createEventStore } from '../../src/store/events.ts';
import { listen } from '../../src/store/listener.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { dumpReadTables, serverLikeRuntime } from '../helpers/runtime.ts';
import { rebuildProjections } from '../../src/projections/rebuild.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const at = () => new Date().toISOString();
const lease = (ms = 60_000) => new Date(Date.now() + ms).toISOString();

async function row(table: string, id: string) {
  const { rows } = await db.pool.query<{ row: Record<string, unknown> }>(
    `select to_jsonb(t) as row from ${table} t where id = $1`,
    [id],
  );
  return rows[0]?.row ?? null;
}

describe('inline projections', () => {
  it('keep the read tables in step with every committed event', async () => {
    const runtime = serverLikeRuntime(db.pool);
    const id = randomUUID();
    await runtime.send('task', id, { type: 'task.created', input: 'do it', priority: 3, at: at() });
    expect(await row('tasks', id)).toMatchObject({
      state: 'pending',
      input: 'do it',
      priority: 3,
      version: 1,
    });
    await runtime.send('task', id, {
      type: 'task.claimed',
      worker_id: 'w1',
      lease_expires_at: lease(),
      at: at(),
    });
    await runtime.send('task', id, {
      type: 'task.blocked',
      request_id: 'r1',
      kind: 'question',
      prompt: 'which?',
      options: ['a', 'b'],
      at: at(),
    });
    expect(await row('tasks', id)).toMatchObject({
      state: 'blocked',
      attempts: 1,
      lease_owner: 'w1',
      version: 3,
    });
    expect(await row('human_inbox', id)).toMatchObject({
      kind: 'question',
      prompt: 'which?',
      options: ['a', 'b'],
      request_id: 'r1',
    });
    await runtime.send('task', id, {
      type: 'task.request_answered',
      request_id: 'r1',
      answer: 'a',
      at: at(),
    });
    expect(await row('human_inbox', id)).toBeNull();
    await runtime.send('task', id, { type: 'task.completed', output_summary: 'ok', at: at() });
    expect(await row('tasks', id)).toMatchObject({
      state: 'completed',
      output_summary: 'ok',
      version: 5,
    });
  });

  it('project a flow run and the step tasks it starts', async () => {
    const runtime = serverLikeRuntime(db.pool);
    const runId = randomUUID();
    await runtime.send('flow_run', runId, {
      type: 'flow_run.created',
      flow_name: 'f',
      band: 'small',
      input: { question: 'why?' },
      at: at(),
      steps: [
        { step_id: 'a', kind: 'agent' },
        { step_id: 'b', kind: 'agent', depends_on: ['a'] },
      ],
    });
    await runtime.drain();
    const { rows: steps } = await db.pool.query<{
      step_id: string;
      status: string;
      task_id: string | null;
    }>('select step_id, status, task_id from flow_steps where run_id = $1 order by step_id', [
      runId,
    ]);
    expect(steps.map((s) => [s.step_id, s.status])).toEqual([
      ['a', 'running'],
      ['b', 'pending'],
    ]);
    expect(await row('tasks', steps[0]!.task_id!)).toMatchObject({
      state: 'pending',
      run_id: runId,
      step_id: 'a',
      input: 'why?',
    });
    expect(await row('flow_runs', runId)).toMatchObject({
      status: 'running',
      input: { question: 'why?' },
    });
  });

  it('abort the whole append when a projection fails: no event without its rows, no rows without their event', async () => {
    const failing: Projection = {
      ...PROJECTIONS[1]!,
      table: 'flow_runs',
      streamTypes: ['task'],
      keysOf: (e) => [{ id: e.streamId }],
      evolve: () => {
        throw new Error('projection bug');
      },
    };
    // tasks runs first and writes its row; the failing one comes after.
    const runtime = serverLikeRuntime(db.pool, { projections: [PROJECTIONS[0]!, failing] });
    const id = randomUUID();
    await expect(
      runtime.send('task', id, { type: 'task.created', input: 'x', at: at() }),
    ).rejects.toThrow('projection bug');
    expect(await row('tasks', id)).toBeNull();
    expect(await createEventStore(db.pool).readStream(id)).toEqual([]);
  });

  it('NOTIFY tasks_new after each commit that leaves a task pending, never for a rolled-back one', async () => {
    const heard: string[] = [];
    const listener = await listen({
      connectionString: db.url,
      channels: ['tasks_new'],
      onNotify: (_channel, payload) => heard.push(payload),
      onReconnect: () => undefined,
    });
    // Notifications arrive in commit order: once a marker sent afterwards has arrived,
    // everything committed before it has too.
    const mark = async (name: string) => {
      await db.pool.query(`select pg_notify('tasks_new', $1)`, [name]);
      const deadline = Date.now() + 15_000;
      while (!heard.includes(name)) {
        if (Date.now() > deadline) throw new Error(`marker ${name} never arrived`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    try {
      const runtime = serverLikeRuntime(db.pool);
      const rolledBack = randomUUID();
      await expect(
        runtime.transaction(async (_tx, send) => {
          await send('task', rolledBack, { type: 'task.created', input: 'x', at: at() });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      await runtime.drain();
      await mark('after-rollback');
      expect(heard).toEqual(['after-rollback']);

      heard.length = 0;
      const id = randomUUID();
      await runtime.send('task', id, {
        type: 'task.created',
        input: 'x',
        max_attempts: 3,
        at: at(),
      });
      await runtime.send('task', id, {
        type: 'task.claimed',
        worker_id: 'w',
        lease_expires_at: lease(),
        at: at(),
      });
      await runtime.send('task', id, { type: 'task.output_appended', chunk: 'hi', at: at() });
      await runtime.send('task', id, { type: 'task.failed', error: 'x', at: at() });
      await runtime.send('task', id, { type: 'task.retried', at: at() });
      await runtime.send('task', id, {
        type: 'task.claimed',
        worker_id: 'w',
        lease_expires_at: lease(-1000),
        at: at(),
      });
      await runtime.send('task', id, { type: 'task.lease_expired', at: at() });
      await runtime.send('task', id, { type: 'task.cancelled', at: at() });
      // Hints go out after their commits, batched: wait for the batch, then for the marker.
      await runtime.drain();
      await mark('end');
      expect(heard).toEqual([id, id, id, 'end']);
    } finally {
      await listener.close();
    }
  });
});

describe('the inline row cache', () => {
  const usage = (n: number) => ({
    type: 'task.usage_recorded',
    input_tokens: n,
    output_tokens: 0,
    cost_tokens: n,
    at: at(),
  });

  it('never serves a row written by a transaction that rolled back, nor one another process has moved past', async () => {
    const a = serverLikeRuntime(db.pool);
    const b = serverLikeRuntime(db.pool);
    const id = randomUUID();
    await a.send('task', id, { type: 'task.created', input: 'x', at: at() });
    await a.send('task', id, {
      type: 'task.claimed',
      worker_id: 'w',
      lease_expires_at: lease(),
      at: at(),
    });

    // A writes usage 5 and rolls back; B's usage 100, waiting on A's lock, then commits as
    // the same version A had written.
    let bDone: Promise<unknown> | undefined;
    await expect(
      a.transaction(async (_tx, send) => {
        await send('task', id, usage(5));
        bDone = b.send('task', id, usage(100));
        await new Promise((r) => setTimeout(r, 200));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await bDone;
    await a.send('task', id, usage(1));
    expect(await row('tasks', id)).toMatchObject({ cost_tokens: 101, version: 4 });

    // B moves the task on; A, whose cached row is a version behind, still gets it right.
    await b.send('task', id, usage(1000));
    await a.send('task', id, usage(10_000));
    expect(await row('tasks', id)).toMatchObject({ cost_tokens: 11_101, version: 6 });
    // What the cache let it write is what a rebuild from the log writes.
    const inline = await dumpReadTables(db.pool);
    await rebuildProjections(db.pool);
    expect(await dumpReadTables(db.pool)).toEqual(inline);
  });
});
