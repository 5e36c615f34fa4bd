import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IllegalStateError } from '../../src/errors.ts';
import type { TaskContext } from '../../src/machines/task.ts';
import { rebuildProjections } from '../../src/projections/rebuild.ts';
import type { Command, Runtime, StreamType } from '../../src/runtime/actor-host.ts';
import { stepTaskId } from '../../src/runtime/flows.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { dumpReadTables, serverLikeRuntime } from '../helpers/runtime.ts';
import { fcParameters, timeoutFor } from '../properties/fc-config.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

let clock = Date.UTC(2026, 0, 1);
const at = () => new Date((clock += 1000)).toISOString();

interface World {
  tasks: string[];
  runs: string[];
  sessions: string[];
  changes: string[];
}

type Planned = (w: World) => readonly [StreamType, string, Command];

const i = fc.nat(3);
const taskOf = (w: World, n: number) => w.tasks[n % w.tasks.length]!;
const onTask =
  (make: (n: number) => Command) =>
  (n: number): Planned =>
  (w) => ['task', taskOf(w, n), make(n)];
const weighted = (weight: number, arbitrary: fc.Arbitrary<Planned>) => ({ weight, arbitrary });

/**
 * Commands over a small world, picked by index; many are refused in the state they meet,
 * as in real use. Weighted toward the task lifecycle so claims, expiries, failures and
 * retries meet often.
 */
const commandArb: fc.Arbitrary<Planned> = fc.oneof(
  weighted(
    4,
    fc.tuple(i, fc.constantFrom('w1', 'w2')).map(([n, worker]) =>
      onTask(() => ({
        type: 'task.claimed',
        worker_id: worker,
        lease_expires_at: new Date(clock + 5000).toISOString(),
        at: at(),
      }))(n),
    ),
  ),
  weighted(
    3,
    i.map(
      onTask(() => ({ type: 'task.lease_expired', at: new Date((clock += 10_000)).toISOString() })),
    ),
  ),
  weighted(2, i.map(onTask(() => ({ type: 'task.failed', error: 'boom', at: at() })))),
  weighted(2, i.map(onTask(() => ({ type: 'task.retried', at: at() })))),
  weighted(
    2,
    fc.tuple(i, fc.constantFrom('permission', 'question')).map(([n, kind]) =>
      onTask(() => ({
        type: 'task.blocked',
        request_id: 'r',
        kind,
        prompt: 'ok?',
        options: [],
        at: at(),
      }))(n),
    ),
  ),
  weighted(1, i.map(onTask(() => ({ type: 'task.output_appended', chunk: 'out', at: at() })))),
  weighted(
    1,
    i.map(
      onTask((n) => ({
        type: 'task.usage_recorded',
        input_tokens: n,
        output_tokens: 1,
        cost_tokens: n + 1,
        at: at(),
      })),
    ),
  ),
  weighted(
    1,
    i.map(
      onTask(() => ({ type: 'task.request_answered', request_id: 'r', answer: 'yes', at: at() })),
    ),
  ),
  weighted(1, i.map(onTask(() => ({ type: 'task.completed', output_summary: 'done', at: at() })))),
  weighted(1, i.map(onTask(() => ({ type: 'task.dismissed', at: at() })))),
  weighted(1, i.map(onTask(() => ({ type: 'task.cancelled', at: at() })))),
  weighted(
    1,
    fc
      .tuple(i, fc.constantFrom('w1', 'w2'))
      .map(([n, worker]) =>
        onTask(() => ({ type: 'task.released', worker_id: worker, at: at() }))(n),
      ),
  ),
  weighted(
    1,
    fc.constant<Planned>((w) => ['flow_run', w.runs[0]!, { type: 'flow_run.cancelled', at: at() }]),
  ),
  weighted(
    1,
    fc
      .constantFrom('h1', 'h2')
      .map((hash): Planned => (w) => [
        'agent_session',
        w.sessions[0]!,
        { type: 'agent_session.turn_started', turn_id: 't', config_hash: hash, at: at() },
      ]),
  ),
  weighted(
    1,
    fc.constant<Planned>((w) => [
      'agent_session',
      w.sessions[0]!,
      {
        type: 'agent_session.turn_completed',
        turn_id: 't',
        input_tokens: 3,
        output_tokens: 4,
        cost: 0.25,
        at: at(),
      },
    ]),
  ),
  weighted(
    1,
    i.map((n): Planned => (w) => [
      'pending_change',
      w.changes[n % 2]!,
      { type: 'pending_change.apply_requested', at: at() },
    ]),
  ),
  weighted(
    1,
    i.map((n): Planned => (w) => [
      'pending_change',
      w.changes[n % 2]!,
      { type: 'pending_change.rejected', at: at() },
    ]),
  ),
  weighted(
    1,
    i.map((n): Planned => (w) => [
      'pending_change',
      w.changes[n % 2]!,
      { type: 'pending_change.revert_requested', at: at() },
    ]),
  ),
);

/** A real folder for the changes: applying and reverting them writes there. */
let workdir = '';

async function seed(runtime: Runtime): Promise<World> {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-rebuild-'));
  await fs.writeFile(path.join(workdir, 'a.ts'), 'a\n');
  const w: World = {
    tasks: [randomUUID(), randomUUID()],
    runs: [randomUUID()],
    sessions: [randomUUID()],
    changes: [randomUUID(), randomUUID()],
  };
  for (const id of w.tasks)
    await runtime.send('task', id, { type: 'task.created', input: 'x', max_attempts: 2, at: at() });
  await runtime.send('flow_run', w.runs[0]!, {
    type: 'flow_run.created',
    flow_name: 'f',
    band: 'small',
    input: { question: 'q' },
    at: at(),
    steps: [
      { step_id: 'a', kind: 'agent' },
      { step_id: 'b', kind: 'agent', depends_on: ['a'] },
      { step_id: 'c', kind: 'code', optional: true },
    ],
  });
  await runtime.drain();
  w.tasks.push(stepTaskId(w.runs[0]!, 'a'), stepTaskId(w.runs[0]!, 'c'));
  await runtime.send('agent_session', w.sessions[0]!, {
    type: 'agent_session.opened',
    chat_id: randomUUID(),
    agent: 'claude',
    backend: 'acp_warm',
    config_hash: 'h1',
    at: at(),
  });
  for (const id of w.changes) {
    await runtime.send('pending_change', id, {
      type: 'pending_change.proposed',
      task_id: w.tasks[0]!,
      workdir,
      file_path: 'a.ts',
      operation: 'edit',
      diff: '-a\n+b',
      before: 'a\n',
      after: 'b\n',
      at: at(),
    });
  }
  return w;
}

/** What the inbox must hold, from the actors themselves. */
async function expectedInbox(runtime: Runtime, w: World): Promise<string[]> {
  const ids: string[] = [];
  for (const id of w.tasks) {
    const { snapshot } = await runtime.load('task', id);
    const c = snapshot.context as TaskContext;
    if (snapshot.value === 'blocked') ids.push(`${c.request!.kind}:${id}`);
    if (snapshot.value === 'failed' && !c.dismissed) ids.push(`failed_task:${id}`);
  }
  for (const id of w.changes) {
    if ((await runtime.load('pending_change', id)).snapshot.value === 'pending')
      ids.push(`pending_change:${id}`);
  }
  return ids.sort();
}

describe('rebuild', () => {
  it(
    'gives the inline tables back row for row, and the inbox holds exactly what waits for a person (property)',
    async () => {
      const runtime = serverLikeRuntime(db.pool);
      await fc.assert(
        fc.asyncProperty(
          fc.array(commandArb, { minLength: 5, maxLength: 40, size: 'max' }),
          async (plan) => {
            const world = await seed(runtime);
            for (const planned of plan) {
              const [type, id, command] = planned(world);
              await runtime.send(type, id, command).catch((error: unknown) => {
                if (!(error instanceof IllegalStateError)) throw error;
              });
              await runtime.drain();
            }
            const { rows } = await db.pool.query<{ k: string }>(
              `select kind || ':' || id as k from human_inbox where id = any($1) order by 1`,
              [[...world.tasks, ...world.changes]],
            );
            expect(rows.map((r) => r.k)).toEqual(await expectedInbox(runtime, world));

            const inline = await dumpReadTables(db.pool);
            await rebuildProjections(db.pool, { batchSize: 7 });
            expect(await dumpReadTables(db.pool)).toEqual(inline);
          },
        ),
        fcParameters(20),
      );
    },
    timeoutFor(20, 60_000),
  );

  it('loses nothing that is appended while it runs', async () => {
    const runtime = serverLikeRuntime(db.pool);
    const ids = Array.from({ length: 6 }, () => randomUUID());
    for (const id of ids)
      await runtime.send('task', id, { type: 'task.created', input: 'x', at: at() });
    for (const id of ids)
      await runtime.send('task', id, {
        type: 'task.claimed',
        worker_id: 'w',
        lease_expires_at: new Date(clock + 1e9).toISOString(),
        at: at(),
      });
    let writing = true;
    const writers = ids.map(async (id) => {
      while (writing)
        await runtime.send('task', id, { type: 'task.output_appended', chunk: 'x', at: at() });
    });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await rebuildProjections(db.pool, { batchSize: 50 }));
    writing = false;
    await Promise.all(writers);
    const live = await dumpReadTables(db.pool);
    await rebuildProjections(db.pool);
    expect(await dumpReadTables(db.pool)).toEqual(live);
    // The tables carried on from the rebuilt rows: each task's chunk count equals its log.
    const { rows } = await db.pool.query<{ ok: boolean }>(
      `select bool_and(t.output_chunks = (select count(*) from events e where e.stream_id = t.id and e.type = 'task.output_appended')) as ok
       from tasks t where t.id = any($1)`,
      [ids],
    );
    expect(rows[0]!.ok).toBe(true);
    expect(results.every((r) => r.events > 0)).toBe(true);
  });
});
