/** GET /health: is the database reachable, which PostgreSQL, and where the log's head is. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDeps } from '../app.ts';

const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  version: Type.String({ description: 'boocoder version' }),
  db: Type.Object({
    ok: Type.Boolean(),
    version: Type.Union([Type.String(), Type.Null()], { description: 'PostgreSQL server version' }),
  }),
  log: Type.Object({
    head_position: Type.Union([Type.Integer(), Type.Null()], {
      description: 'highest event position written',
    }),
  }),
});

export function healthRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/health',
      { schema: { response: { 200: HealthResponse, 503: HealthResponse } } },
      async (request, reply) => {
        try {
          const [{ rows }, head] = await Promise.all([
            deps.pool.query<{ server_version: string }>('show server_version'),
            deps.store.headPosition(),
          ]);
          return {
            status: 'ok' as const,
            version: deps.version,
            db: { ok: true, version: rows[0]?.server_version ?? null },
            log: { head_position: head },
          };
        } catch (err) {
          request.log.warn({ err }, 'health check: database unavailable');
          return reply.status(503).send({
            status: 'unavailable' as const,
            version: deps.version,
            db: { ok: false, version: null },
            log: { head_position: null },
          });
        }
      },
    );
  };
}
