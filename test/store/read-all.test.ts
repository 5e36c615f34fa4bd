import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClient } from '../../src/store/db.ts';
import { createEventStore, type EventStore } from '../../src/store/events.ts';
import { START, type Checkpoint, type StoredEvent } from '../../src/store/types.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 14 });
  store = createEventStore(db.pool);
});
afterAll(() => db.drop());

const before = (a: Checkpoint, b: Checkpoint) =>
  a.txId < b.txId || (a.txId === b.txId && a.position < b.position);

/** Reads everything visible after `after`, page by page. */
async function drain(after: Checkpoint, limit = 500) {
  const events: StoredEvent[] = [];
  let checkpoint = after;
  for (;;) {
    const page = await store.readAll({ after: checkpoint, limit });
    events.push(...page.events);
    checkpoint = page.checkpoint;
    if (page.events.length < limit) return { events, checkpoint };
  }
}

describe('readAll', () => {
  it('delivers an event that took a lower position but committed last, where a position reader skips it', async () => {
    const { checkpoint: start } = await drain(START);
    const startPosition = await store.headPosition();
    const slow = await db.pool.connect();
    const fast = await db.pool.connect();
    try {
      const slowStream = randomUUID();
      const fastStream = randomUUID();
      await slow.query('begin');
      await store.append(
        { type: 'task', id: slowStream },
        0,
        [{ type: 'task.created', data: { who: 'slow' } }],
        slow,
      );
      await fast.query('begin');
      await store.append(
        { type: 'task', id: fastStream },
        0,
        [{ type: 'task.created', data: { who: 'fast' } }],
        fast,
      );
      await fast.query('commit');

      // A reader polling now: the naive `position > last` reader sees the fast event and
      // moves past the slow one's position; the gap-safe reader waits.
      const naive = await db.pool.query<{ position: number }>(
        'select position from events where position > $1 order by position',
        [startPosition],
      );
      expect(naive.rows).toHaveLength(1);
      const naiveCheckpoint = naive.rows[0]!.position;
      const between = await drain(start);
      expect(between.events).toHaveLength(0);

      await slow.query('commit');
      const after = await drain(between.checkpoint);
      expect(after.events.map((e) => e.data.who)).toEqual(['slow', 'fast']);
      // The naive reader never sees the slow event: its position is below the checkpoint.
      const naiveLater = await db.pool.query('select position from events where position > $1', [
        naiveCheckpoint,
      ]);
      expect(naiveLater.rows).toHaveLength(0);
    } finally {
      slow.release();
      fast.release();
    }
  });

  it('gives a reader polling during 8 busy writers every one of 10,000 events exactly once, in (tx_id, position) order', async () => {
    const { checkpoint: start } = await drain(START);
    const writers = 8;
    const perWriter = 1250;
    let writing = true;
    const seen: StoredEvent[] = [];
    const reader = (async () => {
      let checkpoint = start;
      for (;;) {
        const done = !writing;
        const page = await store.readAll({ after: checkpoint, limit: 700 });
        seen.push(...page.events);
        checkpoint = page.checkpoint;
        if (done && page.events.length === 0) return;
      }
    })();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        // Mixed shapes: single events to fresh streams, and batches to one long stream.
        const long = randomUUID();
        let longVersion = 0;
        let written = 0;
        while (written < perWriter) {
          if (written % 5 === 0) {
            const batch = Array.from({ length: 5 }, (_, i) => ({
              type: 'flow_run.step_completed',
              data: { w, n: written + i },
            }));
            longVersion = (await store.append({ type: 'flow_run', id: long }, longVersion, batch))
              .version;
            written += 5;
          } else {
            await store.append({ type: 'task', id: randomUUID() }, 0, [
              { type: 'task.created', data: { w, n: written } },
            ]);
            written += 1;
          }
        }
      }),
    );
    writing = false;
    await reader;

    expect(seen).toHaveLength(writers * perWriter);
    expect(new Set(seen.map((e) => e.position)).size).toBe(writers * perWriter);
    for (let i = 1; i < seen.length; i++) {
      expect(before(seen[i - 1]!, seen[i]!)).toBe(true);
    }
    const keys = new Set(seen.map((e) => JSON.stringify([e.data.w, e.data.n])));
    expect(keys.size).toBe(writers * perWriter);
  });

  it('pages with limit and filters by stream type without losing its place', async () => {
    const { checkpoint: start } = await drain(START);
    const ids = [randomUUID(), randomUUID()];
    await store.append({ type: 'task', id: ids[0]! }, 0, [
      { type: 'task.created', data: { n: 1 } },
      { type: 'task.claimed', data: { n: 2 } },
    ]);
    await store.append({ type: 'agent_session', id: ids[1]! }, 0, [
      { type: 'agent_session.opened', data: { n: 3 } },
    ]);
    await store.append({ type: 'task', id: ids[0]! }, 2, [
      { type: 'task.completed', data: { n: 4 } },
    ]);

    const first = await store.readAll({ after: start, limit: 2 });
    const second = await store.readAll({ after: first.checkpoint, limit: 2 });
    const third = await store.readAll({ after: second.checkpoint, limit: 2 });
    expect([...first.events, ...second.events].map((e) => e.data.n)).toEqual([1, 2, 3, 4]);
    expect(third.events).toEqual([]);
    expect(third.checkpoint).toEqual(second.checkpoint);

    const tasks = await store.readAll({ after: start, streamTypes: ['task'] });
    expect(tasks.events.map((e) => e.data.n)).toEqual([1, 2, 4]);
  });

  it('is not held back by a transaction open in another database, only by one in its own', async () => {
    const other = createClient(inject('pgAdminUrl'));
    await other.connect();
    const mine = await db.pool.connect();
    try {
      await other.query('begin');
      await other.query('select pg_current_xact_id()');
      // Committed after the other database's transaction began: readable all the same.
      const stream = randomUUID();
      await store.append({ type: 'task', id: stream }, 0, [{ type: 'task.created', data: {} }]);
      await store.append({ type: 'task', id: randomUUID() }, 0, [
        { type: 'task.created', data: {} },
      ]);
      const seen = await drain(START);
      expect(seen.events.map((e) => e.streamId)).toContain(stream);

      // A transaction open here still holds the horizon: what commits after it waits.
      await mine.query('begin');
      await mine.query('select pg_current_xact_id()');
      const later = randomUUID();
      await store.append({ type: 'task', id: later }, 0, [{ type: 'task.created', data: {} }]);
      expect((await drain(seen.checkpoint)).events).toEqual([]);
      await mine.query('commit');
      expect((await drain(seen.checkpoint)).events.map((e) => e.streamId)).toEqual([later]);
    } finally {
      await other.query('rollback').catch(() => undefined);
      await other.end();
      mine.release();
    }
  });

  it('reports the head position of the log', async () => {
    const head = await store.headPosition();
    const { events } = await store.append({ type: 'task', id: randomUUID() }, 0, [
      { type: 'task.created', data: {} },
    ]);
    expect(await store.headPosition()).toBe(events[0]!.position);
    expect(events[0]!.position).toBeGreaterThan(head);
  });
});
