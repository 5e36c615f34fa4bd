import type { FastifyInstance, InjectOptions } from 'fastify';
import type pg from 'pg';
import { expect } from 'vitest';
import { buildApp, type AppDeps, type AppOptions } from '../../src/http/app.ts';
import type { Runtime } from '../../src/runtime/actor-host.ts';
import { createEventStore } from '../../src/store/events.ts';
import { serverLikeRuntime } from './runtime.ts';

/** The API as the server builds it, over a server-like runtime (no worker), for `inject`. */
export async function testApp(
  pool: pg.Pool,
  options: AppOptions & { runtime?: Runtime; deps?: Partial<AppDeps> } = {},
) {
  const { runtime: given, deps, ...appOptions } = options;
  const runtime = given ?? serverLikeRuntime(pool);
  const app = await buildApp(
    { pool, store: createEventStore(pool), version: 'test', runtime, ...deps },
    { logLevel: 'silent', ...appOptions },
  );
  return { app, runtime };
}

/** How many events the log holds: a rejected request must leave it unchanged. */
export async function eventCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from events');
  return rows[0]!.n;
}

export interface ErrorJson {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** Sends `request` and asserts it is refused with `status` and `code`, having appended nothing. */
export async function refused(
  app: FastifyInstance,
  pool: pg.Pool,
  request: InjectOptions,
  status: number,
  code: string,
): Promise<ErrorJson> {
  const before = await eventCount(pool);
  const res = await app.inject(request);
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json<ErrorJson>();
  expect(body.error.code).toBe(code);
  expect(await eventCount(pool)).toBe(before);
  return body;
}
