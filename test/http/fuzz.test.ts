/**
 * Fuzz: arbitrary ids, query strings and JSON bodies against every route. Never a 5xx, and
 * a refused request (4xx) leaves the event log exactly as it was.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime/actor-host.ts';
import { eventCount, testApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let app: FastifyInstance;
let runtime: Runtime;
let workdir: string;
const known: string[] = [];

const ROUTES: [method: 'GET' | 'POST', path: string][] = [
  ['GET', '/health'],
  ['POST', '/api/tasks'],
  ['GET', '/api/tasks'],
  ['GET', '/api/tasks/:id'],
  ['GET', '/api/tasks/:id/output'],
  ['POST', '/api/tasks/:id/cancel'],
  ['POST', '/api/tasks/:id/retry'],
  ['GET', '/api/inbox'],
  ['POST', '/api/inbox/:id/resolve'],
  ['GET', '/api/changes'],
  ['GET', '/api/changes/:id'],
  ['POST', '/api/changes/:id/apply'],
  ['POST', '/api/changes/:id/reject'],
  ['POST', '/api/changes/:id/revert'],
  ['GET', '/api/agents'],
  ['GET', '/api/sessions'],
  ['POST', '/api/sessions/:id/close'],
  ['GET', '/api/events'],
  ['GET', '/api/streams/:id/events'],
  ['POST', '/api/runs'],
  ['GET', '/api/runs'],
  ['GET', '/api/runs/:id'],
  ['POST', '/api/runs/:id/cancel'],
  ['GET', '/api/streams/:id/timeline'],
  ['GET', '/api/streams/:id/state'],
];

const now = () => new Date().toISOString();

beforeAll(async () => {
  db = await createTestDatabase();
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'bc-fuzz-'));
  ({ app, runtime } = await testApp(db.pool));
  // Streams in every state the routes act on, so some fuzzed requests reach the runtime.
  for (let i = 0; i < 3; i++) {
    const task = randomUUID();
    await runtime.send('task', task, { type: 'task.created', input: 'x', at: now() });
    await runtime.send('task', task, {
      type: 'task.claimed',
      worker_id: 'w',
      lease_expires_at: new Date(Date.now() + 600_000).toISOString(),
      at: now(),
    });
    if (i === 0) await runtime.send('task', task, { type: 'task.failed', error: 'e', at: now() });
    if (i === 1) {
      await runtime.send('task', task, {
        type: 'task.blocked',
        request_id: 'r',
        kind: 'permission',
        prompt: 'p',
        at: now(),
      });
    }
    const change = randomUUID();
    await runtime.send('pending_change', change, {
      type: 'pending_change.proposed',
      task_id: task,
      workdir,
      file_path: `f${i}.txt`,
      operation: 'create',
      diff: '+',
      before: null,
      after: 'x',
      at: now(),
    });
    const session = randomUUID();
    await runtime.send('agent_session', session, {
      type: 'agent_session.opened',
      chat_id: randomUUID(),
      agent: 'scripted',
      backend: 'scripted',
      config_hash: 'h',
      at: now(),
    });
    const run = randomUUID();
    await runtime.send('flow_run', run, {
      type: 'flow_run.created',
      flow_name: 'f',
      band: 'small',
      input: { question: 'q' },
      steps: [
        { step_id: 'a', kind: 'agent' },
        { step_id: 'b', kind: 'agent', depends_on: ['a'] },
      ],
      at: now(),
    });
    known.push(task, change, session, run);
  }
});
afterAll(async () => {
  await app.close();
  await db.drop();
  await fs.rm(workdir, { recursive: true, force: true });
});

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('\u0000', '', ' ', '-1', '1e309', '0:0', '99999999999999999999', 'null', '[]'),
);
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uuid(),
);
// Known ids are filled in beforeAll, after the arbitraries are built: pick them lazily.
const id = fc.oneof(
  fc.nat().map((i) => known[i % known.length]!),
  fc.uuid(),
  text,
);
const FIELDS = [
  'input',
  'project_id',
  'agent',
  'model',
  'mode',
  'priority',
  'max_attempts',
  'parent_task_id',
  'chat_id',
  'session_id',
  'workdir',
  'action',
  'answer',
  'reason',
  'state',
  'limit',
  'cursor',
  'after',
  'stream_type',
  'kind',
  'task_id',
  'status',
  'from_version',
  'version',
  'before',
  'flow_name',
  'band',
  'steps',
];
const query = fc.dictionary(
  fc.oneof(fc.constantFrom(...FIELDS), fc.string()),
  fc.oneof(text, fc.uuid(), fc.integer().map(String)),
  { maxKeys: 4 },
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue(),
  fc.dictionary(
    fc.oneof(fc.constantFrom(...FIELDS), fc.string()),
    fc.oneof(scalar, fc.jsonValue()),
    { maxKeys: 6 },
  ),
  fc.record(
    {
      input: fc.string({ minLength: 1 }),
      priority: fc.option(fc.integer()),
      agent: fc.option(text),
    },
    { requiredKeys: ['input'] },
  ),
  fc.record({
    flow_name: fc.option(text),
    input: fc.option(fc.oneof(fc.record({ question: text }), fc.jsonValue())),
    steps: fc.array(
      fc.record({
        step_id: fc.constantFrom('a', 'b', 'c', ''),
        kind: fc.constantFrom('agent', 'code', 'x'),
        depends_on: fc.option(fc.array(fc.constantFrom('a', 'b', 'c', 'z'), { maxLength: 3 })),
        optional: fc.option(scalar),
      }),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    action: fc.constantFrom('allow', 'reject', 'retry', 'dismiss', 'apply', 'answer'),
    answer: fc.option(text),
    reason: fc.option(scalar),
  }),
);

describe('fuzzing every route', () => {
  it('never answers 5xx, and a refused request appends nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        id,
        query,
        body,
        async ([method, template], rawId, q, b) => {
          await runtime.drain();
          const before = await eventCount(db.pool);
          const search = new URLSearchParams(q).toString();
          const url =
            template.replace(':id', encodeURIComponent(rawId)) + (search ? `?${search}` : '');
          const res = await app.inject({
            method,
            url,
            ...(method === 'POST' && b !== undefined
              ? { payload: JSON.stringify(b), headers: { 'content-type': 'application/json' } }
              : {}),
          });
          expect(
            res.statusCode,
            `${method} ${url} ${JSON.stringify(b)} → ${res.body}`,
          ).toBeLessThan(500);
          if (res.statusCode >= 400) {
            expect(res.json<{ error: { code: string } }>().error.code).toEqual(expect.any(String));
            expect(await eventCount(db.pool)).toBe(before);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
