import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventStore } from '../../src/store/events.ts';
import { listen, type Channel } from '../../src/store/listener.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

/** Resolves when `check` is true, polling; fails the test after `ms`. */
async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('listener', () => {
  it('hears appends on "events" (payload: stream id) and tasks_new hints, and re-reads after a reconnect', async () => {
    const heard: [Channel, string][] = [];
    let reconnects = 0;
    const listener = await listen({
      connectionString: db.url,
      channels: ['events', 'tasks_new'],
      onNotify: (channel, payload) => heard.push([channel, payload]),
      onReconnect: () => reconnects++,
    });
    try {
      const store = createEventStore(db.pool);
      const id = randomUUID();
      await store.append({ type: 'task', id }, 0, [
        { type: 'task.created', data: {} },
        { type: 'task.claimed', data: {} },
      ]);
      await db.pool.query(`select pg_notify('tasks_new', $1)`, [id]);
      await until(() => heard.length >= 2);
      // Two events in one append: one hint, naming the version reached.
      expect(heard).toEqual([
        ['events', `${id}:2`],
        ['tasks_new', id],
      ]);

      // Drop the listener's connection from the server side.
      const killed = await db.pool.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and query ilike 'listen%'`,
      );
      expect(killed.rows[0]!.n).toBeGreaterThan(0);
      await until(() => reconnects === 1);

      const after = randomUUID();
      await store.append({ type: 'task', id: after }, 0, [{ type: 'task.created', data: {} }]);
      await until(() => heard.some(([, p]) => p === `${after}:1`));
    } finally {
      await listener.close();
    }
  });
});
