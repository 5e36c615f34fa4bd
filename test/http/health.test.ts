import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.ts';
import { createPool } from '../../src/store/db.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { serverLikeRuntime } from '../helpers/runtime.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

describe('GET /health', () => {
  it('reports the database and the head of the log', async () => {
    const store = createEventStore(db.pool);
    const app = await buildApp(
      { pool: db.pool, store, version: '9.9.9', runtime: serverLikeRuntime(db.pool) },
      { logLevel: 'silent' },
    );
    try {
      const empty = await app.inject({ method: 'GET', url: '/health' });
      expect(empty.statusCode).toBe(200);
      expect(empty.json()).toMatchObject({
        status: 'ok',
        version: '9.9.9',
        db: { ok: true },
        log: { head_position: 0 },
      });
      expect(empty.json<{ db: { version: string } }>().db.version).toMatch(/^\d+(\.\d+)?/);

      const { events } = await store.append({ type: 'task', id: randomUUID() }, 0, [
        { type: 'task.created', data: {} },
        { type: 'task.claimed', data: {} },
      ]);
      const after = await app.inject({ method: 'GET', url: '/health' });
      expect(after.json()).toMatchObject({ log: { head_position: events[1]!.position } });
    } finally {
      await app.close();
    }
  });

  it('answers 503 when the database is unreachable', async () => {
    const pool = createPool('postgres://nobody@127.0.0.1:1/none', 1);
    const app = await buildApp(
      { pool, store: createEventStore(pool), version: 'x', runtime: serverLikeRuntime(pool) },
      { logLevel: 'silent' },
    );
    try {
      const res = await app.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'unavailable', db: { ok: false, version: null } });
    } finally {
      await app.close();
      await pool.end();
    }
  });

  it('answers unknown routes with the error shape', async () => {
    const app = await buildApp(
      {
        pool: db.pool,
        store: createEventStore(db.pool),
        version: 'x',
        runtime: serverLikeRuntime(db.pool),
      },
      { logLevel: 'silent' },
    );
    try {
      const res = await app.inject({ method: 'GET', url: '/nope' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /nope' } });
    } finally {
      await app.close();
    }
  });
});
