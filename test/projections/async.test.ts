import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAsyncProjectionRunner, type AsyncProjection } from '../../src/projections/async.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query('create table seen (position bigint primary key)');
});
afterAll(() => db.drop());

/** A test consumer: records each event's position; a second sighting violates the key. */
const recorder: AsyncProjection = {
  name: 'test-recorder',
  streamTypes: ['task'],
  async apply(tx, events) {
    await tx.query('insert into seen select unnest($1::bigint[])', [events.map((e) => e.position)]);
  },
};

describe('async projections', () => {
  it('apply every event exactly once, with two runners following busy writers', async () => {
    const store = createEventStore(db.pool);
    const runners = [0, 1].map(() => createAsyncProjectionRunner(db.pool, store, recorder, 50));
    let writing = true;
    const following = runners.map(async (runner) => {
      while (writing) await runner.catchUp();
    });
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < 60; i++) {
          await store.append({ type: 'task', id: randomUUID() }, 0, [
            { type: 'task.created', data: { i } },
          ]);
          if (i % 20 === 0) {
            await store.append({ type: 'flow_run', id: randomUUID() }, 0, [
              { type: 'flow_run.created', data: {} },
            ]);
          }
        }
      }),
    );
    writing = false;
    await Promise.all(following);
    await runners[0]!.catchUp();

    const { rows } = await db.pool.query<{ n: number; expected: number }>(
      `select (select count(*) from seen)::int as n,
              (select count(*) from events where stream_type = 'task')::int as expected`,
    );
    expect(rows[0]!.n).toBe(rows[0]!.expected);
    expect(rows[0]!.n).toBe(360);
    const checkpoint = await runners[1]!.checkpoint();
    expect(checkpoint.position).toBeGreaterThan(0);
    expect(await runners[1]!.catchUp()).toBe(0);
  });
});
