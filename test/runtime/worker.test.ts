import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/adapters/agent.ts';
import { builtInAgents } from '../../src/adapters/index.ts';
import type { Node } from '../../src/runtime/node.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { testNode } from '../helpers/node.ts';
import { serverLikeRuntime } from '../helpers/runtime.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 20 });
});
afterAll(() => db.drop());

const at = () => new Date().toISOString();

async function until<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function taskRow(id: string) {
  const { rows } = await db.pool.query<{
    state: string;
    output_summary: string | null;
    error: string | null;
    output_chunks: number;
    lease_owner: string | null;
  }>('select state, output_summary, error, output_chunks, lease_owner from tasks where id = $1', [
    id,
  ]);
  return rows[0];
}

const node = (env: Record<string, string>, agents?: Map<string, Agent>): Promise<Node> =>
  testNode(db, { BOOCODER_WORKER_ID: `w-${randomUUID().slice(0, 8)}`, ...env }, agents);

describe('worker', () => {
  it('claims a new task at once and runs it on the scripted agent to the end', async () => {
    const n = await node({ BOOCODER_POLL_MS: '60000' });
    try {
      const creator = serverLikeRuntime(db.pool);
      const ok = randomUUID();
      const bad = randomUUID();
      const lost = randomUUID();
      await creator.send('task', ok, {
        type: 'task.created',
        input: 'hello\n@usage 3 4\n@say world',
        at: at(),
      });
      await creator.send('task', bad, { type: 'task.created', input: '@fail no luck', at: at() });
      await creator.send('task', lost, {
        type: 'task.created',
        input: 'x',
        agent: 'nonexistent',
        at: at(),
      });
      expect(
        await until(async () => (await taskRow(ok))?.state === 'completed' && taskRow(ok)),
      ).toMatchObject({
        output_summary: 'done: hello',
        output_chunks: 2,
        lease_owner: null,
      });
      expect(
        await until(async () => (await taskRow(bad))?.state === 'failed' && taskRow(bad)),
      ).toMatchObject({ error: 'no luck' });
      expect(
        await until(async () => (await taskRow(lost))?.state === 'failed' && taskRow(lost)),
      ).toMatchObject({ error: 'unknown agent "nonexistent"' });
      const types = (await createEventStore(db.pool).readStream(ok)).map((e) => e.type);
      expect(types).toEqual([
        'task.created',
        'task.claimed',
        'task.started',
        'task.output_appended',
        'task.usage_recorded',
        'task.output_appended',
        'task.completed',
      ]);
    } finally {
      await n.stop(1000);
    }
  });

  it('runs a task with a chat id as a turn of the chat agent session, summing its usage', async () => {
    const n = await node({});
    try {
      const creator = serverLikeRuntime(db.pool);
      const chat = randomUUID();
      const first = randomUUID();
      await creator.send('task', first, {
        type: 'task.created',
        input: '@usage 10 5\nhi',
        chat_id: chat,
        at: at(),
      });
      await until(async () => (await taskRow(first))?.state === 'completed');
      const second = randomUUID();
      await creator.send('task', second, {
        type: 'task.created',
        input: '@usage 1 2\nagain',
        chat_id: chat,
        at: at(),
      });
      await until(async () => (await taskRow(second))?.state === 'completed');
      // The turn closes after the task's last event, when the run itself ends.
      await until(() => n.worker!.running().length === 0);
      const { rows } = await db.pool.query<Record<string, unknown>>(
        'select agent, backend, status, turns, input_tokens, output_tokens, cost from agent_sessions where chat_id = $1',
        [chat],
      );
      expect(rows).toEqual([
        {
          agent: 'scripted',
          backend: 'scripted',
          status: 'idle',
          turns: 2,
          input_tokens: 11,
          output_tokens: 7,
          cost: '18',
        },
      ]);
    } finally {
      await n.stop(1000);
    }
  });

  it('lets one of several first turns of a new chat run at once and refuses the others as busy', async () => {
    // Two workers claim at the same moment: both find no session and race to open one.
    const a = await node({ BOOCODER_POLL_MS: '60000', BOOCODER_CONCURRENCY: '4' });
    const b = await node({ BOOCODER_POLL_MS: '60000', BOOCODER_CONCURRENCY: '4' });
    try {
      const creator = serverLikeRuntime(db.pool);
      const chat = randomUUID();
      const ids = Array.from({ length: 6 }, () => randomUUID());
      await creator.transaction(async (_tx, send) => {
        for (const id of ids)
          await send('task', id, {
            type: 'task.created',
            input: '@sleep 200\nhi',
            chat_id: chat,
            max_attempts: 1,
            at: at(),
          });
      });
      const rows = await until(async () => {
        const all = await Promise.all(ids.map(taskRow));
        return all.every((r) => r && ['completed', 'failed'].includes(r.state)) && all;
      });
      // No task waits out a lease or dies of a database error: each ran or was told why not.
      for (const row of rows.filter((r) => r!.state === 'failed'))
        expect(row!.error).toMatch(/already has a turn running/);
      expect(rows.filter((r) => r!.state === 'completed').length).toBeGreaterThanOrEqual(1);
      const sessions = await db.pool.query('select 1 from agent_sessions where chat_id = $1', [
        chat,
      ]);
      expect(sessions.rowCount).toBe(1);
    } finally {
      await a.stop(1000);
      await b.stop(1000);
    }
  });

  it('aborts the agent of a task cancelled from another process, and records nothing it says after', async () => {
    const log: string[] = [];
    let finish!: () => void;
    const stubborn: Agent = {
      name: 'stubborn',
      executionPath: 'scripted',
      run: ({ signal }) =>
        new Promise((resolve) => {
          log.push('started');
          signal.addEventListener('abort', () => {
            log.push('aborted');
            // It ignores the abort and claims success a little later.
            finish = () => resolve({ status: 'completed', summary: 'too late' });
            setTimeout(finish, 50);
          });
        }),
    };
    const n = await node({}, new Map([...builtInAgents(), ['stubborn', stubborn]]));
    try {
      // "Another process": its own runtime, sharing nothing in memory with the worker's.
      const api = serverLikeRuntime(db.pool);
      const id = randomUUID();
      await api.send('task', id, { type: 'task.created', input: 'x', agent: 'stubborn', at: at() });
      await until(async () => (await taskRow(id))?.state === 'running' && log.includes('started'));
      await api.send('task', id, { type: 'task.cancelled', reason: 'user', at: at() });
      await until(() => log.includes('aborted'), 5000);
      await until(() => n.worker!.running().length === 0);
      expect(await taskRow(id)).toMatchObject({ state: 'cancelled', error: 'user' });
      const types = (await createEventStore(db.pool).readStream(id)).map((e) => e.type);
      expect(types).not.toContain('task.completed');
      expect(types.at(-1)).toBe('task.cancelled');
    } finally {
      await n.stop(1000);
    }
  });

  it('starts a task created while its listener was disconnected (poll on reconnect)', async () => {
    const n = await node({ BOOCODER_POLL_MS: '3600000' });
    try {
      const { rows } = await db.pool.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and query ilike 'listen%'`,
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
      const id = randomUUID();
      await serverLikeRuntime(db.pool).send('task', id, {
        type: 'task.created',
        input: 'after the drop',
        at: at(),
      });
      expect(
        await until(async () => (await taskRow(id))?.state === 'completed' && taskRow(id)),
      ).toMatchObject({
        output_summary: 'done: after the drop',
      });
    } finally {
      await n.stop(1000);
    }
  });

  it('lets quick tasks finish in the grace period and releases the rest when stopped', async () => {
    const first = await node({ BOOCODER_CONCURRENCY: '2' });
    const creator = serverLikeRuntime(db.pool);
    const ids = [randomUUID(), randomUUID()];
    await creator.send('task', ids[0]!, {
      type: 'task.created',
      input: '@sleep 50\nquick',
      at: at(),
    });
    await creator.send('task', ids[1]!, {
      type: 'task.created',
      input: '@sleep 60000\nslow',
      at: at(),
    });
    await until(() => first.worker!.running().length === 2);
    await first.stop(1000);
    expect((await taskRow(ids[0]!))?.state).toBe('completed');
    expect(await taskRow(ids[1]!)).toMatchObject({ state: 'pending', lease_owner: null });
    const types = (await createEventStore(db.pool).readStream(ids[1]!)).map((e) => e.type);
    expect(types.at(-1)).toBe('task.released');
  });

  it('does not wait out the grace period for a task waiting on a person: it is released at once', async () => {
    const asker: Agent = {
      name: 'asker',
      executionPath: 'scripted',
      run: async ({ report }) => {
        const answer = await report.request({ kind: 'question', prompt: 'which?', options: [] });
        return { status: 'completed', summary: answer };
      },
    };
    // Only this task to run: the slow task the test above released is still pending here.
    await serverLikeRuntime(db.pool).transaction(async (tx, send) => {
      const { rows } = await tx.query<{ id: string }>(
        `select id from tasks where state = 'pending'`,
      );
      for (const { id } of rows) await send('task', id, { type: 'task.cancelled', at: at() });
    });
    const n = await node({}, new Map([...builtInAgents(), ['asker', asker]]));
    const id = randomUUID();
    await serverLikeRuntime(db.pool).send('task', id, {
      type: 'task.created',
      input: 'ask me',
      agent: 'asker',
      at: at(),
    });
    await until(async () => (await taskRow(id))?.state === 'blocked');
    // Ten minutes of grace: were it waited out, this test would never end.
    await n.stop(600_000);
    expect(await taskRow(id)).toMatchObject({ state: 'pending', lease_owner: null });
    const types = (await createEventStore(db.pool).readStream(id)).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['task.blocked', 'task.released']);
    const { rows } = await db.pool.query('select 1 from human_inbox where task_id = $1', [id]);
    expect(rows).toHaveLength(0);
  });
});
