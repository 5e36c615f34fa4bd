/** Flow runs and time travel over HTTP (inject), on a real database. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime/actor-host.ts';
import { refused as refusedBy, testApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let app: FastifyInstance;
let runtime: Runtime;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ app, runtime } = await testApp(db.pool));
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

const now = () => new Date().toISOString();
const refused = (request: InjectOptions, status: number, code: string) =>
  refusedBy(app, db.pool, request, status, code);

const plan = {
  flow_name: 'review',
  input: { question: 'is it good?' },
  steps: [
    { step_id: 'read', kind: 'agent', input: { prompt: 'read it' } },
    { step_id: 'judge', kind: 'agent', depends_on: ['read'] },
  ],
};

interface Run {
  id: string;
  status: string;
  version: number;
  steps: { step_id: string; status: string; task_id: string | null }[];
}

async function startRun(body: Record<string, unknown> = plan): Promise<Run> {
  const res = await app.inject({ method: 'POST', url: '/api/runs', payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Run>();
}

describe('flow runs', () => {
  it('start with their first wave of steps running as tasks', async () => {
    const run = await startRun();
    expect(run.status).toBe('running');
    expect(run.steps.map((s) => [s.step_id, s.status])).toEqual([
      ['read', 'pending'],
      ['judge', 'pending'],
    ]);
    // The flow effect starts the ready wave after the creation commits.
    await runtime.drain();
    const res = await app.inject({ method: 'GET', url: `/api/runs/${run.id}` });
    const read = res.json<Run>().steps.find((s) => s.step_id === 'read')!;
    expect(read.status).toBe('running');
    const task = await app.inject({ method: 'GET', url: `/api/tasks/${read.task_id}` });
    expect(task.json<{ task: { run_id: string; state: string } }>().task).toMatchObject({
      run_id: run.id,
      state: 'pending',
    });
  });

  it('refuse plans the machine would refuse, with a 400 and nothing appended', async () => {
    const cycle = {
      ...plan,
      steps: [
        { step_id: 'a', kind: 'agent', depends_on: ['b'] },
        { step_id: 'b', kind: 'agent', depends_on: ['a'] },
      ],
    };
    const error = await refused(
      { method: 'POST', url: '/api/runs', payload: cycle },
      400,
      'validation_failed',
    );
    expect(error.error.message).toMatch(/cycle/);
    await refused(
      {
        method: 'POST',
        url: '/api/runs',
        payload: { ...plan, steps: [{ step_id: 'a', kind: 'agent', depends_on: ['nope'] }] },
      },
      400,
      'validation_failed',
    );
    await refused(
      { method: 'POST', url: '/api/runs', payload: { ...plan, steps: [] } },
      400,
      'validation_failed',
    );
    await refused(
      { method: 'POST', url: '/api/runs', payload: { ...plan, input: {} } },
      400,
      'validation_failed',
    );
  });

  it('list newest first, filter by status, page with a cursor', async () => {
    const project = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await startRun({ ...plan, project_id: project })).id);
    const first = await app.inject({
      method: 'GET',
      url: `/api/runs?project_id=${project}&limit=2`,
    });
    const page = first.json<{ runs: Run[]; next_cursor: string | null }>();
    expect(page.runs.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const second = await app.inject({
      method: 'GET',
      url: `/api/runs?project_id=${project}&limit=2&cursor=${page.next_cursor}`,
    });
    expect(second.json<{ runs: Run[] }>().runs.map((r) => r.id)).toEqual([ids[0]]);
    const cancelled = await app.inject({
      method: 'GET',
      url: `/api/runs?project_id=${project}&status=cancelled`,
    });
    expect(cancelled.json<{ runs: Run[] }>().runs).toEqual([]);
    // The runs' first steps start after their creation commits: let them, then count.
    await runtime.drain();
    await refused({ method: 'GET', url: '/api/runs?cursor=bad!cursor' }, 400, 'validation_failed');
    await refused({ method: 'GET', url: '/api/runs?cursor=Zm9v' }, 400, 'validation_failed');
  });

  it('cancel a running run (its running steps cancelled, the rest skipped); cancelling again is a 409', async () => {
    const run = await startRun();
    await runtime.drain();
    const res = await app.inject({
      method: 'POST',
      url: `/api/runs/${run.id}/cancel`,
      payload: { reason: 'changed my mind' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      id: run.id,
      state: 'cancelled',
      event: 'flow_run.cancelled',
    });
    await runtime.drain();
    const after = (await app.inject({ method: 'GET', url: `/api/runs/${run.id}` })).json<Run>();
    expect(after.status).toBe('cancelled');
    expect(after.steps.map((s) => s.status)).toEqual(['cancelled', 'skipped']);
    const again = await refused(
      { method: 'POST', url: `/api/runs/${run.id}/cancel` },
      409,
      'illegal_state',
    );
    expect(again.error.details).toMatchObject({ state: 'cancelled' });
    await refused({ method: 'POST', url: `/api/runs/${randomUUID()}/cancel` }, 404, 'not_found');
    await refused({ method: 'GET', url: `/api/runs/${randomUUID()}` }, 404, 'not_found');
    await refused({ method: 'GET', url: '/api/runs/not-a-uuid' }, 400, 'validation_failed');
  });
});

describe('time travel', () => {
  it("shows a stream's timeline and its exact state after any version", async () => {
    const id = randomUUID();
    await runtime.send('task', id, { type: 'task.created', input: 'go', at: now() });
    await runtime.send('task', id, {
      type: 'task.claimed',
      worker_id: 'w1',
      lease_expires_at: new Date(Date.now() + 60_000).toISOString(),
      at: now(),
    });
    await runtime.send('task', id, { type: 'task.output_appended', chunk: 'hi', at: now() });
    await runtime.send('task', id, { type: 'task.cancelled', at: now() });

    const timeline = await app.inject({ method: 'GET', url: `/api/streams/${id}/timeline` });
    expect(timeline.statusCode).toBe(200);
    const t = timeline.json<{
      stream_type: string;
      head_version: number;
      entries: { version: number; type: string; state_after: { value: string } }[];
    }>();
    expect(t.stream_type).toBe('task');
    expect(t.head_version).toBe(4);
    expect(t.entries.map((e) => [e.version, e.type, e.state_after.value])).toEqual([
      [1, 'task.created', 'pending'],
      [2, 'task.claimed', 'running'],
      [3, 'task.output_appended', 'running'],
      [4, 'task.cancelled', 'cancelled'],
    ]);

    const at2 = await app.inject({ method: 'GET', url: `/api/streams/${id}/state?version=2` });
    expect(at2.json()).toMatchObject({
      version: 2,
      head_version: 4,
      value: 'running',
      final: false,
      context: { leaseOwner: 'w1', outputChunks: 0, attempts: 1 },
    });
    expect(at2.json<{ accepted_events: string[] }>().accepted_events).toContain('task.completed');
    const latest = await app.inject({ method: 'GET', url: `/api/streams/${id}/state` });
    expect(latest.json()).toMatchObject({ version: 4, value: 'cancelled', final: true });

    // Looking back changed nothing: no event appended, no effect run.
    const events = await app.inject({ method: 'GET', url: `/api/streams/${id}/events` });
    expect(events.json<{ events: unknown[] }>().events).toHaveLength(4);

    await refused({ method: 'GET', url: `/api/streams/${id}/state?version=5` }, 404, 'not_found');
    await refused(
      { method: 'GET', url: `/api/streams/${id}/state?version=0` },
      400,
      'validation_failed',
    );
    await refused(
      { method: 'GET', url: `/api/streams/${randomUUID()}/timeline` },
      404,
      'not_found',
    );
  });
});
