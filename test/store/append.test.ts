import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError, ValidationError } from '../../src/errors.ts';
import { withTransaction } from '../../src/store/db.ts';
import { createEventStore, type EventStore } from '../../src/store/events.ts';
import type { NewEvent, StreamRef } from '../../src/store/types.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { fcParameters, timeoutFor } from '../properties/fc-config.ts';

let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = createEventStore(db.pool);
});
afterAll(() => db.drop());

const task = (): StreamRef => ({ type: 'task', id: randomUUID() });
const ev = (n: number, type = 'task.output_appended'): NewEvent => ({
  type,
  data: { n, text: `chunk ${n}`, nested: { list: [1, 'two', null, true] } },
  meta: { actor: 'test' },
});

async function counts() {
  const { rows } = await db.pool.query<{ events: number; streams: number }>(
    'select (select count(*) from events)::int as events, (select count(*) from streams)::int as streams',
  );
  return rows[0]!;
}

describe('append and readStream', () => {
  it('round-trips events with contiguous versions, data and meta intact', async () => {
    const stream = task();
    const first = await store.append(stream, 0, [ev(1, 'task.created'), ev(2), ev(3)]);
    expect(first.version).toBe(3);
    expect(first.events.map((e) => e.version)).toEqual([1, 2, 3]);
    const second = await store.append(stream, 3, [ev(4), ev(5)]);
    expect(second.version).toBe(5);

    const read = await store.readStream(stream.id);
    expect(read.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
    expect(read.map((e) => e.type)).toEqual([
      'task.created',
      'task.output_appended',
      'task.output_appended',
      'task.output_appended',
      'task.output_appended',
    ]);
    expect(read[0]!.data).toEqual(ev(1).data);
    expect(read[0]!.meta).toEqual({ actor: 'test' });
    expect(read[0]!.streamType).toBe('task');
    expect(read[0]!.streamId).toBe(stream.id);
    // Positions and tx ids returned by append are the stored ones.
    expect(read.map((e) => e.position)).toEqual(
      [...first.events, ...second.events].map((e) => e.position),
    );
    expect(read.map((e) => e.txId)).toEqual([...first.events, ...second.events].map((e) => e.txId));
    expect(await store.streamVersion(stream.id)).toBe(5);

    const slice = await store.readStream(stream.id, { fromVersion: 2, toVersion: 4 });
    expect(slice.map((e) => e.version)).toEqual([2, 3, 4]);
  });

  it('reads an unknown stream as empty, version 0', async () => {
    expect(await store.readStream(randomUUID())).toEqual([]);
    expect(await store.streamVersion(randomUUID())).toBe(0);
  });

  it('lets exactly one of 8 concurrent appenders win each version, leaving no holes', async () => {
    const stream = task();
    await store.append(stream, 0, [ev(0, 'task.created')]);
    const rounds = 15;
    for (let version = 1; version <= rounds; version++) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, writer) => store.append(stream, version, [ev(writer)])),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(7);
      for (const { reason } of lost) {
        expect(reason).toBeInstanceOf(ConcurrencyError);
        expect(reason).toMatchObject({
          streamId: stream.id,
          expectedVersion: version,
          actualVersion: version + 1,
        });
      }
    }
    const read = await store.readStream(stream.id);
    expect(read.map((e) => e.version)).toEqual(Array.from({ length: rounds + 1 }, (_, i) => i + 1));
  });

  it('refuses an expected version ahead of the stream instead of leaving a hole', async () => {
    const stream = task();
    await store.append(stream, 0, [ev(1, 'task.created'), ev(2)]);
    await expect(store.append(stream, 5, [ev(3)])).rejects.toMatchObject({
      name: 'ConcurrencyError',
      expectedVersion: 5,
      actualVersion: 2,
    });
    await expect(store.append(stream, 0, [ev(3)])).rejects.toMatchObject({
      expectedVersion: 0,
      actualVersion: 2,
    });
    expect((await store.readStream(stream.id)).map((e) => e.version)).toEqual([1, 2]);
  });

  it('keeps many streams appended concurrently separate and complete', async () => {
    const streams = Array.from({ length: 40 }, task);
    await Promise.all(
      streams.map(async (stream) => {
        let version = 0;
        for (let i = 0; i < 10; i++) {
          const batch = i % 3 === 0 ? [ev(i), ev(i + 100)] : [ev(i)];
          version = (await store.append(stream, version, batch)).version;
        }
      }),
    );
    for (const stream of streams) {
      const read = await store.readStream(stream.id);
      expect(read.map((e) => e.version)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
      expect(new Set(read.map((e) => e.streamId))).toEqual(new Set([stream.id]));
    }
  });

  it('joins a caller transaction: rolled back means never written, committed means visible', async () => {
    const stream = task();
    await expect(
      withTransaction(db.pool, async (tx) => {
        await store.append(stream, 0, [ev(1, 'task.created')], tx);
        expect(await store.streamVersion(stream.id, tx)).toBe(1);
        throw new Error('caller changed its mind');
      }),
    ).rejects.toThrow('caller changed its mind');
    expect(await store.readStream(stream.id)).toEqual([]);
    expect(await store.streamVersion(stream.id)).toBe(0);

    await withTransaction(db.pool, async (tx) => {
      await store.append(stream, 0, [ev(1, 'task.created')], tx);
      await store.append(stream, 1, [ev(2)], tx);
      // Outside the transaction nothing is visible before commit.
      expect(await store.readStream(stream.id)).toEqual([]);
    });
    expect((await store.readStream(stream.id)).map((e) => e.version)).toEqual([1, 2]);
  });

  it('a clash inside a caller transaction is a ConcurrencyError and leaves the transaction usable', async () => {
    const stream = task();
    await store.append(stream, 0, [ev(1, 'task.created')]);
    await withTransaction(db.pool, async (tx) => {
      await expect(store.append(stream, 0, [ev(2)], tx)).rejects.toBeInstanceOf(ConcurrencyError);
      await store.append(stream, 1, [ev(2)], tx);
    });
    expect(await store.streamVersion(stream.id)).toBe(2);
  });
});

describe('bad input to append', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const cases: [string, () => Promise<unknown>][] = [
    [
      'an unknown stream type',
      () => store.append({ type: 'job' as 'task', id: randomUUID() }, 0, [ev(1)]),
    ],
    [
      'a stream id that is not a UUID',
      () => store.append({ type: 'task', id: 'task-1' }, 0, [ev(1)]),
    ],
    ['a negative expected version', () => store.append(task(), -1, [ev(1)])],
    ['a fractional expected version', () => store.append(task(), 1.5, [ev(1)])],
    ['a string expected version', () => store.append(task(), '0' as unknown as number, [ev(1)])],
    ['no events', () => store.append(task(), 0, [])],
    ['an event type without the stream prefix', () => store.append(task(), 0, [ev(1, 'claimed')])],
    ['an event type of another stream', () => store.append(task(), 0, [ev(1, 'flow_run.started')])],
    ['an event type with spaces', () => store.append(task(), 0, [ev(1, 'task.was claimed')])],
    [
      'data that is an array',
      () => store.append(task(), 0, [{ type: 'task.created', data: [] as never }]),
    ],
    [
      'data holding a function',
      () => store.append(task(), 0, [{ type: 'task.created', data: { f: (() => 1) as never } }]),
    ],
    [
      'data holding NaN',
      () => store.append(task(), 0, [{ type: 'task.created', data: { n: NaN } }]),
    ],
    [
      'data holding Infinity',
      () => store.append(task(), 0, [{ type: 'task.created', data: { n: Infinity } }]),
    ],
    [
      'data holding undefined',
      () => store.append(task(), 0, [{ type: 'task.created', data: { u: undefined as never } }]),
    ],
    [
      'data holding a BigInt',
      () => store.append(task(), 0, [{ type: 'task.created', data: { b: 1n as never } }]),
    ],
    [
      'data holding a Date',
      () => store.append(task(), 0, [{ type: 'task.created', data: { d: new Date() as never } }]),
    ],
    [
      'data holding a NUL character',
      () => store.append(task(), 0, [{ type: 'task.created', data: { s: 'a\u0000b' } }]),
    ],
    [
      'circular data',
      () => store.append(task(), 0, [{ type: 'task.created', data: circular as never }]),
    ],
    [
      'meta that is a string',
      () => store.append(task(), 0, [{ type: 'task.created', data: {}, meta: 'x' as never }]),
    ],
    [
      'a valid event followed by an invalid one',
      () =>
        store.append(task(), 0, [
          ev(1, 'task.created'),
          { type: 'task.created', data: { n: NaN } },
        ]),
    ],
  ];

  it.each(cases)('rejects %s with a ValidationError and writes nothing', async (_name, call) => {
    const before = await counts();
    await expect(call()).rejects.toBeInstanceOf(ValidationError);
    expect(await counts()).toEqual(before);
  });

  it('rejects appending to a stream under another stream type, writing nothing', async () => {
    const id = randomUUID();
    await store.append({ type: 'task', id }, 0, [ev(1, 'task.created')]);
    const before = await counts();
    await expect(
      store.append({ type: 'flow_run', id }, 1, [{ type: 'flow_run.started', data: {} }]),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.append({ type: 'flow_run', id }, 0, [{ type: 'flow_run.started', data: {} }]),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await counts()).toEqual(before);
  });
});

describe('append against a model (property)', () => {
  it(
    'succeeds exactly when the expected version is the stream head, and the log equals the model',
    async () => {
      const ids = Array.from({ length: 3 }, () => randomUUID());
      const command = fc.record({
        stream: fc.integer({ min: 0, max: ids.length - 1 }),
        // Mostly the right version, sometimes off by a little either way.
        offset: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: -2, max: 2 })),
        count: fc.integer({ min: 1, max: 3 }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(command, { minLength: 1, maxLength: 25, size: 'max' }),
          async (commands) => {
            const runIds = ids.map(() => randomUUID());
            const model = runIds.map(() => [] as number[]);
            for (const { stream, offset, count } of commands) {
              const head = model[stream]!.length;
              const expected = head + offset;
              const call = store.append(
                { type: 'agent_session', id: runIds[stream]! },
                expected,
                Array.from({ length: count }, (_, i) => ({
                  type: 'agent_session.turn_completed',
                  data: { i },
                })),
              );
              if (expected < 0) {
                await expect(call).rejects.toBeInstanceOf(ValidationError);
              } else if (expected !== head) {
                await expect(call).rejects.toMatchObject({
                  expectedVersion: expected,
                  actualVersion: head,
                });
              } else {
                await call;
                for (let i = 0; i < count; i++) model[stream]!.push(i);
              }
            }
            for (let s = 0; s < runIds.length; s++) {
              const read = await store.readStream(runIds[s]!);
              expect(read.map((e) => e.data.i)).toEqual(model[s]);
              expect(read.map((e) => e.version)).toEqual(model[s]!.map((_, i) => i + 1));
            }
          },
        ),
        fcParameters(40),
      );
    },
    timeoutFor(40, 60_000),
  );
});
