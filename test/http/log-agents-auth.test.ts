/** The event log routes, the agent routes, and the bearer token. */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BUILT_IN_AGENTS } from '../../src/adapters/definitions.ts';
import type { Runtime } from '../../src/runtime/actor-host.ts';
import { refused as refusedBy, testApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let app: FastifyInstance;
let runtime: Runtime;
let bin: string;

beforeAll(async () => {
  db = await createTestDatabase();
  bin = await fs.mkdtemp(path.join(os.tmpdir(), 'bc-bin-'));
  ({ app, runtime } = await testApp(db.pool, {
    deps: {
      agents: {
        defaultAgent: 'scripted',
        builtIn: ['scripted'],
        definitions: () => Promise.resolve([...BUILT_IN_AGENTS]),
        searchPath: bin,
      },
    },
  }));
});
afterAll(async () => {
  await app.close();
  await db.drop();
  await fs.rm(bin, { recursive: true, force: true });
});

const refused = (request: InjectOptions, status: number, code: string) =>
  refusedBy(app, db.pool, request, status, code);

interface EventsPage {
  events: { cursor: string; position: number; stream_id: string; type: string; version: number }[];
  next: string;
}

describe('GET /api/events and /api/streams/:id/events', () => {
  it('pages through the log with the cursor, each event once', async () => {
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) {
      await runtime.send('task', id, {
        type: 'task.created',
        input: 'x',
        at: new Date().toISOString(),
      });
      await runtime.send('task', id, { type: 'task.cancelled', at: new Date().toISOString() });
    }
    // The gap-safe reader shows a commit once no older transaction in the whole cluster is
    // still running (other test files write beside us): wait for that, then check the pages.
    await vi.waitFor(
      async () => {
        const seen: string[] = [];
        let after = '0';
        for (;;) {
          const res = await app.inject({
            method: 'GET',
            url: `/api/events?after=${after}&limit=3`,
          });
          expect(res.statusCode).toBe(200);
          const page = res.json<EventsPage>();
          if (page.events.length === 0) {
            expect(page.next).toBe(after);
            break;
          }
          seen.push(...page.events.map((e) => `${e.stream_id}/${e.version}`));
          expect(page.next).toBe(page.events.at(-1)!.cursor);
          after = page.next;
        }
        expect(seen).toEqual(ids.flatMap((id) => [`${id}/1`, `${id}/2`]));
      },
      { timeout: 20_000, interval: 100 },
    );

    const tasksOnly = await app.inject({ method: 'GET', url: '/api/events?stream_type=flow_run' });
    expect(tasksOnly.json<EventsPage>().events).toEqual([]);

    const stream = await app.inject({ method: 'GET', url: `/api/streams/${ids[0]}/events` });
    expect(stream.json<EventsPage>().events.map((e) => e.type)).toEqual([
      'task.created',
      'task.cancelled',
    ]);
    const later = await app.inject({
      method: 'GET',
      url: `/api/streams/${ids[0]}/events?from_version=2`,
    });
    expect(later.json<EventsPage>().events.map((e) => e.version)).toEqual([2]);
  });

  it.each([
    '/api/events?after=12',
    '/api/events?after=1:x',
    '/api/events?after=-1:2',
    '/api/events?limit=0',
    '/api/events?stream_type=user',
    '/api/streams/nope/events',
    `/api/streams/${randomUUID()}/events?from_version=0`,
  ])('refuses %s with 400', async (url) => {
    await refused({ method: 'GET', url }, 400, 'validation_failed');
  });

  it('answers 404 for a stream that does not exist', async () => {
    await refused({ method: 'GET', url: `/api/streams/${randomUUID()}/events` }, 404, 'not_found');
  });
});

describe('agents', () => {
  it('lists the scripted agent as installed and default, CLIs as not installed', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/agents' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      default_agent: string;
      agents: { name: string; installed: boolean; default: boolean }[];
    }>();
    expect(body.default_agent).toBe('scripted');
    expect(body.agents.find((a) => a.name === 'scripted')).toMatchObject({
      installed: true,
      default: true,
    });
    expect(body.agents.find((a) => a.name === 'claude')).toMatchObject({
      installed: false,
      default: false,
    });
  });

  it('probes on demand and finds an agent that appeared on PATH', async () => {
    const claude = path.join(bin, 'claude');
    await fs.writeFile(claude, '#!/bin/sh\necho "claude 9.9.9"\n', { mode: 0o755 });
    const res = await app.inject({ method: 'POST', url: '/api/agents/probe' });
    expect(res.statusCode).toBe(200);
    const found = res
      .json<{ agents: { name: string }[] }>()
      .agents.find((a) => a.name === 'claude');
    expect(found).toMatchObject({ installed: true, version: 'claude 9.9.9', install_path: claude });
  });
});

describe('bearer token', () => {
  it('requires the token on every route when one is set, compared exactly', async () => {
    const { app: locked } = await testApp(db.pool, { token: 's3cret' });
    try {
      const id = randomUUID();
      for (const [method, url] of [
        ['POST', '/api/tasks'],
        ['POST', `/api/tasks/${id}/cancel`],
        ['POST', `/api/tasks/${id}/retry`],
        ['POST', `/api/inbox/${id}/resolve`],
        ['POST', `/api/changes/${id}/apply`],
        ['POST', `/api/changes/${id}/reject`],
        ['POST', `/api/changes/${id}/revert`],
        ['POST', '/api/agents/probe'],
        ['POST', `/api/sessions/${id}/close`],
        ['GET', `/api/tasks/${id}`],
        ['GET', `/api/tasks/${id}/output`],
        ['GET', `/api/changes/${id}`],
        ['GET', '/api/changes'],
        ['GET', '/api/agents'],
        ['GET', '/api/sessions'],
        ['GET', '/api/events'],
        ['GET', `/api/streams/${id}/events`],
      ] as const) {
        const res = await locked.inject({ method, url });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
      }
      for (const url of ['/health', '/api/tasks', '/api/inbox', '/docs/json']) {
        const none = await locked.inject({ method: 'GET', url });
        expect(none.statusCode, url).toBe(401);
        expect(none.json()).toMatchObject({ error: { code: 'unauthorized' } });
        const wrong = await locked.inject({
          method: 'GET',
          url,
          headers: { authorization: 'Bearer s3cre' },
        });
        expect(wrong.statusCode).toBe(401);
        const right = await locked.inject({
          method: 'GET',
          url,
          headers: { authorization: 'Bearer s3cret' },
        });
        expect(right.statusCode, url).toBe(200);
      }
      await refusedBy(
        locked,
        db.pool,
        { method: 'POST', url: '/api/tasks', payload: { input: 'x' } },
        401,
        'unauthorized',
      );
    } finally {
      await locked.close();
    }
  });
});
