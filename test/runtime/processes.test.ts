/**
 * Workers as real `boocoder worker` processes on one PostgreSQL: sharing a queue, dying
 * with kill -9, and stopping on SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildProjections } from '../../src/projections/rebuild.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { boocoder, type Spawned } from '../helpers/process.ts';
import { dumpReadTables, serverLikeRuntime } from '../helpers/runtime.ts';

let db: TestDatabase;
const spawned: Spawned[] = [];
beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 8 });
});
afterAll(async () => {
  for (const p of spawned) p.child.kill('SIGKILL');
  await db.drop();
});

const at = () => new Date().toISOString();

function worker(id: string, env: Record<string, string> = {}): Spawned {
  const p = boocoder(['worker'], {
    DATABASE_URL: db.url,
    BOOCODER_WORKER_ID: id,
    LOG_LEVEL: 'warn',
    BOOCODER_POOL_SIZE: '6',
    ...env,
  });
  spawned.push(p);
  return p;
}

async function until(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

async function createTasks(inputs: string[]): Promise<string[]> {
  const runtime = serverLikeRuntime(db.pool);
  const ids = inputs.map(() => randomUUID());
  for (let i = 0; i < ids.length; i += 20) {
    await Promise.all(
      ids
        .slice(i, i + 20)
        .map((id, j) =>
          runtime.send('task', id, { type: 'task.created', input: inputs[i + j]!, at: at() }),
        ),
    );
  }
  return ids;
}

describe('worker processes', () => {
  it('3 workers run 300 tasks: each completes exactly once, versions contiguous, tasks equal a rebuild', async () => {
    const workers = ['p1', 'p2', 'p3'].map((id) => worker(id));
    const ids = await createTasks(
      Array.from({ length: 300 }, (_, i) => `@sleep ${i % 7}\ntask ${i}`),
    );
    await until(
      async () =>
        (await count(
          `select count(*)::int as n from tasks where id = any($1) and state = 'completed'`,
          [ids],
        )) === 300,
      90_000,
      '300 completed tasks',
    );

    expect(
      await count(
        `select count(*)::int as n from events where stream_id = any($1) and type = 'task.completed'`,
        [ids],
      ),
    ).toBe(300);
    expect(
      await count(
        `select count(*)::int as n from events where stream_id = any($1) and type = 'task.claimed'`,
        [ids],
      ),
    ).toBe(300);
    // Contiguous: every stream's versions are exactly 1..n.
    expect(
      await count(
        `select count(*)::int as n from (select stream_id from events where stream_id = any($1)
       group by stream_id having max(version) <> count(*) or min(version) <> 1) gaps`,
        [ids],
      ),
    ).toBe(0);
    // More than one process did the work.
    expect(
      await count(
        `select count(distinct data->>'worker_id')::int as n from events where stream_id = any($1) and type = 'task.claimed'`,
        [ids],
      ),
    ).toBeGreaterThan(1);

    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
    const live = await dumpReadTables(db.pool);
    await rebuildProjections(db.pool);
    expect(await dumpReadTables(db.pool)).toEqual(live);
  });

  it('after kill -9 of a worker, its tasks run again elsewhere once their leases expire, and complete once', async () => {
    const fast = { BOOCODER_LEASE_MS: '1500', BOOCODER_SWEEP_MS: '200', BOOCODER_CONCURRENCY: '4' };
    const doomed = worker('doomed', fast);
    const ids = await createTasks(
      Array.from({ length: 4 }, (_, i) => `@sleep 1500\nsurvivor ${i}`),
    );
    await until(
      async () =>
        (await count(
          `select count(*)::int as n from tasks where id = any($1) and state = 'running' and lease_owner = 'doomed'`,
          [ids],
        )) === 4,
      30_000,
      'doomed to hold 4 tasks',
    );
    doomed.child.kill('SIGKILL');
    await doomed.exited;

    const rescuer = worker('rescuer', fast);
    await until(
      async () =>
        (await count(
          `select count(*)::int as n from tasks where id = any($1) and state = 'completed'`,
          [ids],
        )) === 4,
      60_000,
      'rescued tasks to complete',
    );
    expect(
      await count(
        `select count(*)::int as n from events where stream_id = any($1) and type = 'task.completed'`,
        [ids],
      ),
    ).toBe(4);
    expect(
      await count(
        `select count(*)::int as n from events where stream_id = any($1) and type = 'task.lease_expired'`,
        [ids],
      ),
    ).toBe(4);
    expect(
      await count(`select count(*)::int as n from tasks where id = any($1) and attempts = 2`, [
        ids,
      ]),
    ).toBe(4);
    rescuer.child.kill('SIGTERM');
    expect(await rescuer.exited).toBe(0);
  });

  it('on SIGTERM a worker finishes what it can in the grace period and releases the rest to another worker', async () => {
    const leaving = worker('leaving', {
      BOOCODER_CONCURRENCY: '4',
      BOOCODER_SHUTDOWN_GRACE_MS: '1000',
    });
    const quick = await createTasks(['@sleep 200\nquick 1', '@sleep 200\nquick 2']);
    const slow = await createTasks(['@sleep 3000\nslow 1', '@sleep 3000\nslow 2']);
    const all = [...quick, ...slow];
    await until(
      async () =>
        (await count(
          `select count(*)::int as n from tasks where id = any($1) and lease_owner = 'leaving'`,
          [all],
        )) === 4,
      30_000,
      'leaving to hold all four',
    );
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    expect(
      await count(
        `select count(*)::int as n from tasks where id = any($1) and state = 'completed'`,
        [quick],
      ),
    ).toBe(2);
    expect(
      await count(`select count(*)::int as n from tasks where id = any($1) and state = 'pending'`, [
        slow,
      ]),
    ).toBe(2);
    expect(await count(`select count(*)::int as n from tasks where state = 'running'`)).toBe(0);

    const staying = worker('staying');
    await until(
      async () =>
        (await count(
          `select count(*)::int as n from tasks where id = any($1) and state = 'completed'`,
          [slow],
        )) === 2,
      60_000,
      'released tasks to complete',
    );
    expect(
      await count(
        `select count(*)::int as n from events where stream_id = any($1) and type = 'task.released'`,
        [slow],
      ),
    ).toBe(2);
    expect(
      await count(
        `select count(*)::int as n from events where stream_id = any($1) and type = 'task.claimed' and data->>'worker_id' = 'staying'`,
        [slow],
      ),
    ).toBe(2);
    staying.child.kill('SIGTERM');
    expect(await staying.exited).toBe(0);
  });
});
