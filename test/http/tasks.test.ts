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
  ({ app, runtime } = await testApp(db.pool, {
    deps: {
      agents: {
        defaultAgent: 'scripted',
        builtIn: ['scripted'],
        definitions: () => Promise.resolve([]),
        searchPath: '',
      },
    },
  }));
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

const now = () => new Date().toISOString();

async function createTask(body: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/tasks',
    payload: { input: 'hi', ...body },
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; state: string } & Record<string, unknown>>();
}

/** A task the way a worker leaves it: claimed, some output, then failed. */
async function failedTask(maxAttempts = 3) {
  const task = await createTask({ max_attempts: maxAttempts });
  const lease = new Date(Date.now() + 60_000).toISOString();
  await runtime.send('task', task.id, {
    type: 'task.claimed',
    worker_id: 'w',
    lease_expires_at: lease,
    at: now(),
  });
  await runtime.send('task', task.id, { type: 'task.output_appended', chunk: 'one ', at: now() });
  await runtime.send('task', task.id, { type: 'task.output_appended', chunk: 'two', at: now() });
  await runtime.send('task', task.id, { type: 'task.failed', error: 'boom', at: now() });
  return task.id;
}

const refused = (request: InjectOptions, status: number, code: string) =>
  refusedBy(app, db.pool, request, status, code);

describe('POST /api/tasks', () => {
  it('queues a pending task with the fields given', async () => {
    const project = randomUUID();
    const task = await createTask({
      input: 'write a haiku',
      project_id: project,
      agent: 'scripted',
      model: 'm1',
      mode: 'review',
      priority: 5,
      max_attempts: 2,
      workdir: '/tmp',
    });
    expect(task).toMatchObject({
      state: 'pending',
      input: 'write a haiku',
      project_id: project,
      agent: 'scripted',
      model: 'm1',
      mode_id: 'review',
      priority: 5,
      max_attempts: 2,
      attempts: 0,
      workdir: '/tmp',
      version: 1,
    });
    const events = await runtime.load('task', task.id);
    expect(events.version).toBe(1);
  });

  it('leaves the agent unset so the default agent runs it', async () => {
    const task = await createTask();
    expect(task.agent).toBeNull();
  });

  it.each([
    ['no input', {}],
    ['empty input', { input: '' }],
    ['an unknown field', { input: 'x', colour: 'red' }],
    ['a project id that is not a UUID', { input: 'x', project_id: 'p1' }],
    ['a NUL in the input', { input: 'a\u0000b' }],
    ['a fractional priority', { input: 'x', priority: 1.5 }],
    ['a priority out of range', { input: 'x', priority: 2 ** 40 }],
    ['zero attempts', { input: 'x', max_attempts: 0 }],
    ['a string for a number', { input: 'x', priority: 'high' }],
  ])('refuses %s with 400 and writes nothing', async (_, payload) => {
    await refused({ method: 'POST', url: '/api/tasks', payload }, 400, 'validation_failed');
  });

  it('refuses a relative workdir and an unknown agent', async () => {
    await refused(
      { method: 'POST', url: '/api/tasks', payload: { input: 'x', workdir: 'rel' } },
      400,
      'validation_failed',
    );
    const res = await refused(
      { method: 'POST', url: '/api/tasks', payload: { input: 'x', agent: 'nope' } },
      400,
      'validation_failed',
    );
    expect(res.error.details).toEqual({ known: ['scripted'] });
  });

  it('refuses bad JSON and a body over the limit', async () => {
    await refused(
      {
        method: 'POST',
        url: '/api/tasks',
        headers: { 'content-type': 'application/json' },
        payload: '{"input":',
      },
      400,
      'bad_request_body',
    );
    await refused(
      { method: 'POST', url: '/api/tasks', payload: { input: 'x'.repeat(2 * 1024 * 1024) } },
      413,
      'body_too_large',
    );
  });
});

describe('GET /api/tasks', () => {
  it('lists newest first, filters, and pages with a cursor', async () => {
    const project = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await createTask({ project_id: project, input: `t${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { statusCode: number; json<T>(): T } = await app.inject({
        method: 'GET',
        url: `/api/tasks?project_id=${project}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ tasks: { id: string }[]; next_cursor: string | null }>();
      seen.push(...body.tasks.map((t) => t.id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const failed = await failedTask();
    const res = await app.inject({ method: 'GET', url: '/api/tasks?state=failed' });
    expect(res.json<{ tasks: { id: string }[] }>().tasks.map((t) => t.id)).toEqual([failed]);
    const byAgent = await app.inject({ method: 'GET', url: '/api/tasks?agent=scripted' });
    expect(
      byAgent.json<{ tasks: { agent: string }[] }>().tasks.every((t) => t.agent === 'scripted'),
    ).toBe(true);
  });

  it.each([
    '/api/tasks?state=dreaming',
    '/api/tasks?project_id=nope',
    '/api/tasks?limit=0',
    '/api/tasks?limit=100000',
    '/api/tasks?cursor=bad!',
    `/api/tasks?cursor=${Buffer.from('yesterday|x').toString('base64url')}`,
    '/api/tasks?whatever=1',
  ])('refuses %s with 400', async (url) => {
    await refused({ method: 'GET', url }, 400, 'validation_failed');
  });
});

describe('GET /api/tasks/:id and its output', () => {
  it('returns the row and the recent output', async () => {
    const id = await failedTask();
    const res = await app.inject({ method: 'GET', url: `/api/tasks/${id}` });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      task: { state: string; error: string };
      recent_output: { chunk: string }[];
    }>();
    expect(body.task).toMatchObject({ state: 'failed', error: 'boom' });
    expect(body.recent_output.map((c) => c.chunk)).toEqual(['one ', 'two']);

    const output = await app.inject({ method: 'GET', url: `/api/tasks/${id}/output` });
    expect(output.json()).toMatchObject({ task_id: id, state: 'failed', text: 'one two' });
    const rest = await app.inject({ method: 'GET', url: `/api/tasks/${id}/output?after=3` });
    expect(rest.json<{ text: string }>().text).toBe('two');
  });

  it('answers 404 for an unknown task and 400 for an id that is not a UUID', async () => {
    await refused({ method: 'GET', url: `/api/tasks/${randomUUID()}` }, 404, 'not_found');
    await refused({ method: 'GET', url: `/api/tasks/${randomUUID()}/output` }, 404, 'not_found');
    await refused({ method: 'GET', url: '/api/tasks/123' }, 400, 'validation_failed');
    await refused(
      { method: 'GET', url: `/api/tasks/${randomUUID()}/output?after=-1` },
      400,
      'validation_failed',
    );
  });
});

describe('POST /api/tasks/:id/cancel and /retry', () => {
  it('cancels a pending task, then refuses to cancel it again with the state and accepted events', async () => {
    const task = await createTask();
    const res = await app.inject({ method: 'POST', url: `/api/tasks/${task.id}/cancel` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: task.id,
      state: 'cancelled',
      version: 2,
      event: 'task.cancelled',
    });
    const again = await refused(
      { method: 'POST', url: `/api/tasks/${task.id}/cancel` },
      409,
      'illegal_state',
    );
    expect(again.error.details).toMatchObject({ state: 'cancelled', accepts: [] });
  });

  it('retries a failed task, and refuses to retry a pending one', async () => {
    const id = await failedTask();
    const res = await app.inject({ method: 'POST', url: `/api/tasks/${id}/retry` });
    expect(res.json()).toMatchObject({ state: 'pending', event: 'task.retried' });
    const again = await refused(
      { method: 'POST', url: `/api/tasks/${id}/retry` },
      409,
      'illegal_state',
    );
    expect(again.error.details).toMatchObject({ state: 'pending' });
    expect(again.error.details?.accepts).toContain('task.cancelled');
  });

  it('refuses a retry with no attempts left', async () => {
    const id = await failedTask(1);
    await refused({ method: 'POST', url: `/api/tasks/${id}/retry` }, 409, 'illegal_state');
  });

  it('answers 404 for unknown tasks and for streams of another kind', async () => {
    await refused({ method: 'POST', url: `/api/tasks/${randomUUID()}/cancel` }, 404, 'not_found');
    const session = randomUUID();
    await runtime.send('agent_session', session, {
      type: 'agent_session.opened',
      chat_id: randomUUID(),
      agent: 'scripted',
      backend: 'scripted',
      config_hash: 'h',
      at: now(),
    });
    await refused({ method: 'POST', url: `/api/tasks/${session}/retry` }, 404, 'not_found');
  });
});
