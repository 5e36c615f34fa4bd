import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ app } = await testApp(db.pool));
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

describe('OpenAPI', () => {
  it('is a valid OpenAPI 3 document listing every route', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toMatch(/^3\./);
    await SwaggerParser.validate(structuredClone(doc) as never);

    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const routes = [
      'GET /health',
      'POST /api/tasks',
      'GET /api/tasks',
      'GET /api/tasks/{id}',
      'GET /api/tasks/{id}/output',
      'POST /api/tasks/{id}/cancel',
      'POST /api/tasks/{id}/retry',
      'GET /api/inbox',
      'POST /api/inbox/{id}/resolve',
      'GET /api/changes',
      'GET /api/changes/{id}',
      'POST /api/changes/{id}/apply',
      'POST /api/changes/{id}/reject',
      'POST /api/changes/{id}/revert',
      'GET /api/agents',
      'POST /api/agents/probe',
      'GET /api/sessions',
      'POST /api/sessions/{id}/close',
      'GET /api/events',
      'GET /api/streams/{id}/events',
      'POST /api/runs',
      'GET /api/runs',
      'GET /api/runs/{id}',
      'POST /api/runs/{id}/cancel',
      'GET /api/streams/{id}/timeline',
      'GET /api/streams/{id}/state',
    ];
    expect(documented.filter((r) => r.includes('/api/') || r.includes('/health')).sort()).toEqual(
      routes.sort(),
    );
  });

  it('serves a UI at /docs', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/html/);
  });
});
