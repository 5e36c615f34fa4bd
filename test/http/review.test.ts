/** The inbox, pending changes and agent sessions over HTTP. */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime/actor-host.ts';
import { refused as refusedBy, testApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let app: FastifyInstance;
let runtime: Runtime;
let workdir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ app, runtime } = await testApp(db.pool));
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'bc-review-'));
});
afterAll(async () => {
  await app.close();
  await db.drop();
  await fs.rm(workdir, { recursive: true, force: true });
});

const now = () => new Date().toISOString();

const refused = (request: InjectOptions, status: number, code: string) =>
  refusedBy(app, db.pool, request, status, code);

async function runningTask() {
  const id = randomUUID();
  await runtime.send('task', id, { type: 'task.created', input: 'x', at: now() });
  await runtime.send('task', id, {
    type: 'task.claimed',
    worker_id: 'w',
    lease_expires_at: new Date(Date.now() + 60_000).toISOString(),
    at: now(),
  });
  return id;
}

async function blockedTask(kind: 'permission' | 'question', options?: string[]) {
  const id = await runningTask();
  await runtime.send('task', id, {
    type: 'task.blocked',
    request_id: 'r1',
    kind,
    prompt: kind === 'permission' ? 'run rm?' : 'which colour?',
    ...(options ? { options } : {}),
    at: now(),
  });
  return id;
}

async function proposedChange(taskId: string, file = 'a.txt') {
  const id = randomUUID();
  await runtime.send('pending_change', id, {
    type: 'pending_change.proposed',
    task_id: taskId,
    workdir,
    file_path: file,
    operation: 'create',
    diff: '+hello',
    before: null,
    after: 'hello\n',
    at: now(),
  });
  return id;
}

const resolve = (id: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/api/inbox/${id}/resolve`, payload });

describe('inbox', () => {
  it('lists what waits and resolves a permission by allowing it', async () => {
    const id = await blockedTask('permission');
    const list = await app.inject({ method: 'GET', url: `/api/inbox?task_id=${id}` });
    expect(list.json()).toMatchObject({
      items: [{ id, kind: 'permission', request_id: 'r1', actions: ['allow', 'reject'] }],
    });
    const res = await resolve(id, { action: 'allow' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id, state: 'running', event: 'task.request_answered' });
    const events = await app.inject({ method: 'GET', url: `/api/streams/${id}/events` });
    expect(
      events.json<{ events: { type: string; data: unknown }[] }>().events.at(-1),
    ).toMatchObject({
      type: 'task.request_answered',
      data: { request_id: 'r1', answer: 'allow' },
    });
    await refused(
      { method: 'POST', url: `/api/inbox/${id}/resolve`, payload: { action: 'allow' } },
      404,
      'not_found',
    );
  });

  it('takes allow, reject or one of a permission’s own options, and refuses anything else', async () => {
    const id = await blockedTask('permission', ['once', 'always', 'never']);
    const bad = await refused(
      { method: 'POST', url: `/api/inbox/${id}/resolve`, payload: { action: 'maybe' } },
      400,
      'validation_failed',
    );
    expect(bad.error.details).toEqual({ actions: ['allow', 'reject', 'once', 'always', 'never'] });
    expect((await resolve(id, { action: 'always' })).statusCode).toBe(200);
    const other = await blockedTask('permission', ['once', 'never']);
    expect((await resolve(other, { action: 'allow' })).statusCode).toBe(200);
  });

  it('answers a question (the answer is required)', async () => {
    const id = await blockedTask('question');
    await refused(
      { method: 'POST', url: `/api/inbox/${id}/resolve`, payload: { action: 'answer' } },
      400,
      'validation_failed',
    );
    const res = await resolve(id, { action: 'answer', answer: 'blue' });
    expect(res.json()).toMatchObject({ state: 'running' });
  });

  it('retries or dismisses a failed task', async () => {
    const a = await runningTask();
    await runtime.send('task', a, { type: 'task.failed', error: 'boom', at: now() });
    expect((await resolve(a, { action: 'retry' })).json()).toMatchObject({ state: 'pending' });
    const b = await runningTask();
    await runtime.send('task', b, { type: 'task.failed', error: 'boom', at: now() });
    expect((await resolve(b, { action: 'dismiss' })).json()).toMatchObject({
      state: 'failed',
      event: 'task.dismissed',
    });
    const left = await app.inject({
      method: 'GET',
      url: `/api/inbox?kind=failed_task&task_id=${b}`,
    });
    expect(left.json()).toEqual({ items: [] });
  });

  it.each([
    [{}, 'no action'],
    [{ action: '' }, 'an empty action'],
    [{ action: 'allow', extra: 1 }, 'an unknown field'],
    [{ action: 7 }, 'a number'],
  ] as [Record<string, unknown>, string][])('refuses %j (%s) with 400', async (payload) => {
    const id = await blockedTask('permission');
    await refused(
      { method: 'POST', url: `/api/inbox/${id}/resolve`, payload },
      400,
      'validation_failed',
    );
  });

  it('refuses ids that are not UUIDs and filters that do not exist', async () => {
    await refused(
      { method: 'POST', url: '/api/inbox/abc/resolve', payload: { action: 'allow' } },
      400,
      'validation_failed',
    );
    await refused({ method: 'GET', url: '/api/inbox?kind=letter' }, 400, 'validation_failed');
  });
});

describe('pending changes', () => {
  it('lists a task’s changes, applies one to disk, reverts it, and rejects another', async () => {
    const task = await runningTask();
    const first = await proposedChange(task, 'a.txt');
    const second = await proposedChange(task, 'b.txt');
    const list = await app.inject({ method: 'GET', url: `/api/changes?task_id=${task}` });
    expect(
      list
        .json<{ changes: { id: string; status: string }[] }>()
        .changes.map((c) => [c.id, c.status]),
    ).toEqual([
      [first, 'pending'],
      [second, 'pending'],
    ]);
    const inbox = await app.inject({
      method: 'GET',
      url: `/api/inbox?kind=pending_change&task_id=${task}`,
    });
    expect(inbox.json<{ items: unknown[] }>().items).toHaveLength(2);

    const applied = await app.inject({ method: 'POST', url: `/api/changes/${first}/apply` });
    expect(applied.json()).toMatchObject({
      state: 'applying',
      event: 'pending_change.apply_requested',
    });
    await runtime.drain();
    expect(await fs.readFile(path.join(workdir, 'a.txt'), 'utf8')).toBe('hello\n');
    expect(
      (await app.inject({ method: 'GET', url: `/api/changes/${first}` })).json(),
    ).toMatchObject({ status: 'applied' });
    await refused({ method: 'POST', url: `/api/changes/${first}/apply` }, 409, 'illegal_state');

    expect(
      (await app.inject({ method: 'POST', url: `/api/changes/${first}/revert` })).statusCode,
    ).toBe(200);
    await runtime.drain();
    await expect(fs.stat(path.join(workdir, 'a.txt'))).rejects.toThrow();

    await refused({ method: 'POST', url: `/api/changes/${second}/revert` }, 409, 'illegal_state');
    const rejected = await app.inject({
      method: 'POST',
      url: `/api/changes/${second}/reject`,
      payload: { reason: 'not needed' },
    });
    expect(rejected.json()).toMatchObject({ state: 'rejected' });
    const byStatus = await app.inject({
      method: 'GET',
      url: `/api/changes?task_id=${task}&status=rejected`,
    });
    expect(byStatus.json()).toMatchObject({ changes: [{ id: second, reason: 'not needed' }] });
  });

  it('applies and rejects through the inbox too', async () => {
    const task = await runningTask();
    const change = await proposedChange(task, 'c.txt');
    const res = await resolve(change, { action: 'reject', reason: 'no' });
    expect(res.json()).toMatchObject({ state: 'rejected' });
  });

  it('answers 404 for unknown changes and 400 for bad ids or bodies', async () => {
    const unknown = randomUUID();
    await refused({ method: 'GET', url: `/api/changes/${unknown}` }, 404, 'not_found');
    for (const verb of ['apply', 'reject', 'revert']) {
      await refused({ method: 'POST', url: `/api/changes/${unknown}/${verb}` }, 404, 'not_found');
    }
    await refused({ method: 'POST', url: '/api/changes/x/apply' }, 400, 'validation_failed');
    await refused({ method: 'GET', url: '/api/changes?task_id=x' }, 400, 'validation_failed');
    const task = await runningTask();
    const change = await proposedChange(task, 'd.txt');
    await refused(
      { method: 'POST', url: `/api/changes/${change}/reject`, payload: { reason: 5 } },
      400,
      'validation_failed',
    );
  });
});

describe('agent sessions', () => {
  it('lists sessions and closes one; closing twice is a 409', async () => {
    const chat = randomUUID();
    const id = randomUUID();
    await runtime.send('agent_session', id, {
      type: 'agent_session.opened',
      chat_id: chat,
      agent: 'scripted',
      backend: 'scripted',
      config_hash: 'h',
      at: now(),
    });
    const list = await app.inject({ method: 'GET', url: `/api/sessions?chat_id=${chat}` });
    expect(list.json()).toMatchObject({ sessions: [{ id, chat_id: chat, status: 'idle' }] });
    const res = await app.inject({ method: 'POST', url: `/api/sessions/${id}/close` });
    expect(res.json()).toMatchObject({ id, state: 'closed' });
    await refused({ method: 'POST', url: `/api/sessions/${id}/close` }, 409, 'illegal_state');
    await refused({ method: 'POST', url: `/api/sessions/${randomUUID()}/close` }, 404, 'not_found');
    await refused(
      { method: 'GET', url: '/api/sessions?status=sleeping' },
      400,
      'validation_failed',
    );
  });

  it('a second open session for one chat and agent is a 409, not a 500', async () => {
    const chat = randomUUID();
    const open = (id: string) =>
      runtime.send('agent_session', id, {
        type: 'agent_session.opened',
        chat_id: chat,
        agent: 'scripted',
        backend: 'scripted',
        config_hash: 'h',
        at: now(),
      });
    await open(randomUUID());
    const error = await open(randomUUID()).catch((e: unknown) => e);
    const { toErrorResponse } = await import('../../src/http/error-handler.ts');
    expect(toErrorResponse(error)).toMatchObject({
      status: 409,
      body: {
        error: { code: 'conflict', details: { constraint: 'agent_sessions_open_per_chat_agent' } },
      },
    });
  });
});
